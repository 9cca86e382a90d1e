#if canImport(Glibc)
    import Glibc
#endif

/// What can go wrong reading or writing a possibly gzip-compressed file.
///
/// Each case names the file (`-` reads as "standard input") and says what happened in words a
/// person can act on.
public enum GzipError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened; `reason` is the system's (for example "No such file or directory").
    case openFailed(path: String, reason: String)
    /// A read from the file failed after it was opened.
    case readFailed(path: String, reason: String)
    /// A write or close of an output file failed.
    case writeFailed(path: String, reason: String)
    /// The file ends inside a gzip member: an interrupted download or copy.
    case truncated(path: String)
    /// The bytes after the gzip magic are not a valid gzip stream; `reason` is zlib's message.
    case corrupt(path: String, reason: String)
    /// A line is longer than the reader accepts; `line` is its 1-based number.
    case lineTooLong(path: String, line: Int, limit: Int)
    /// zlib could not set up a stream (out of memory or a library mismatch).
    case zlibFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .openFailed(let path, let reason):
            return "Failed to open '\(Self.displayName(path))': \(reason)"
        case .readFailed(let path, let reason):
            return "Failed to read '\(Self.displayName(path))': \(reason)"
        case .writeFailed(let path, let reason):
            return "Failed to write '\(Self.displayName(path))': \(reason)"
        case .truncated(let path):
            return "Failed to decompress '\(Self.displayName(path))': the file ends inside a gzip member "
                + "(truncated download or copy?)"
        case .corrupt(let path, let reason):
            return "Failed to decompress '\(Self.displayName(path))': not a valid gzip stream: \(reason)"
        case .lineTooLong(let path, let line, let limit):
            return "Failed to read '\(Self.displayName(path))': line \(line) is longer than \(limit) bytes"
        case .zlibFailed(let path, let reason):
            return "Failed to set up zlib for '\(Self.displayName(path))': \(reason)"
        }
    }

    /// The path as messages show it: `-` is standard input.
    static func displayName(_ path: String) -> String {
        path == "-" ? "standard input" : path
    }

    /// The system's text for `errno` value `code`.
    static func systemReason(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
