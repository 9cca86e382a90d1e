import Foundation

/// Why a checkpoint could not be written, read or used.
///
/// Every case names the file or directory; descriptions follow systemd's wording so that the
/// daemon can log them as they are.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or read (permissions, missing, I/O error).
    case unreadable(path: String, reason: String)
    /// Creating, writing, syncing or renaming the file failed; previous checkpoints are intact.
    case writeFailed(path: String, reason: String)
    /// The checkpoint directory could not be listed, created or synced.
    case directoryUnavailable(path: String, reason: String)
    /// The file was read but is not a valid checkpoint.
    case damaged(path: String, Damage)
    /// The checkpoint holds a model of another shape than the caller expects.
    case shapeMismatch(path: String, found: String, expected: String)
    /// Checkpoint files exist but none of them is valid; starting over would lose training.
    case noValidCheckpoint(directory: String, skipped: [SkippedCheckpoint])

    /// What is wrong with the bytes of a damaged checkpoint.
    public enum Damage: Error, Equatable, Sendable, CustomStringConvertible {
        /// The file does not start with the "SLCK" magic.
        case notACheckpoint
        /// Written by a format this build does not read.
        case unsupportedVersion(found: UInt32, supported: UInt32)
        /// Shorter (or longer) than its header says: an interrupted copy or a cut file.
        case truncated(expectedBytes: Int, actualBytes: Int)
        /// Larger than any checkpoint this build writes or reads.
        case tooLarge(bytes: Int, limit: Int)
        /// The CRC-32C stored at the end does not match the bytes before it.
        case checksumMismatch(stored: UInt32, computed: UInt32)
        /// The checksum matched but a section is inconsistent (a crafted or buggy file).
        case malformed(String)

        public var description: String {
            switch self {
            case .notACheckpoint:
                "not a streamlearn checkpoint (no SLCK magic)"
            case .unsupportedVersion(let found, let supported):
                "checkpoint format version \(found) is not supported (this build reads version \(supported))"
            case .truncated(let expected, let actual):
                "file is \(actual) bytes, its header says \(expected): truncated or padded"
            case .tooLarge(let bytes, let limit):
                "file is \(bytes) bytes, more than the limit of \(limit)"
            case .checksumMismatch(let stored, let computed):
                "checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))"
            case .malformed(let detail):
                "malformed: \(detail)"
            }
        }

        private func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16)
            return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "Failed to read checkpoint '\(path)': \(reason)"
        case .writeFailed(let path, let reason):
            "Failed to write checkpoint '\(path)': \(reason)"
        case .directoryUnavailable(let path, let reason):
            "Failed to access checkpoint directory '\(path)': \(reason)"
        case .damaged(let path, let damage):
            "Failed to load checkpoint '\(path)': \(damage)"
        case .shapeMismatch(let path, let found, let expected):
            "Failed to load checkpoint '\(path)': checkpoint has \(found), config says \(expected); "
                + "move the checkpoint directory away to start a new model"
        case .noValidCheckpoint(let directory, let skipped):
            "Failed to load a checkpoint from '\(directory)': all \(skipped.count) checkpoint files are damaged "
                + "(newest: \(skipped.first.map { "\($0.error)" } ?? "none")); "
                + "move them away to start a new model"
        }
    }

    /// The exit status a command reports for this error (sysexits, as DESIGN.md fixes them).
    public var exitCode: ExitCode {
        switch self {
        case .unreadable, .writeFailed, .directoryUnavailable: .ioError
        case .damaged, .noValidCheckpoint: .dataError
        case .shapeMismatch: .configError
        }
    }

    /// "Failed to ...: No such file or directory" text for an errno value.
    static func reason(errno code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// A checkpoint file that `CheckpointStore.loadNewest` passed over, and why.
public struct SkippedCheckpoint: Equatable, Sendable {
    public var path: String
    public var error: CheckpointError

    public init(path: String, error: CheckpointError) {
        self.path = path
        self.error = error
    }
}
