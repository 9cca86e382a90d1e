import Foundation

/// Reads small files whole, with the operating system's reason on failure.
///
/// Used for the configuration file and secret files: both are small, and an operator needs
/// "Permission denied" or "No such file or directory" rather than a Foundation error code.
enum FileContents {
    /// Why a file could not be read, as strerror(3) words it.
    struct ReadFailure: Error, Equatable, Sendable {
        var reason: String
    }

    /// The bytes of `path`, refusing files longer than `limit` bytes.
    ///
    /// Reads until end of file rather than trusting the size from stat(2), so FIFOs and
    /// /dev/stdin work too.
    static func read(_ path: String, limit: Int) throws(ReadFailure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadFailure(reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadFailure(reason: String(cString: strerror(errno)))
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit {
                throw ReadFailure(reason: "the file is larger than \(limit) bytes")
            }
        }
    }
}
