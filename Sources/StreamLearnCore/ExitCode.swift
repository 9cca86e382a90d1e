/// Process exit statuses, from sysexits(3) as DESIGN.md fixes them.
public enum ExitCode: Int32, Sendable {
    case success = 0
    case failure = 1
    case usage = 64
    case dataError = 65
    case unavailable = 69
    case ioError = 74
    case configError = 78
}

/// An error that a command turns into a message on stderr and an exit status.
///
/// Core code throws these (or errors that convert to them); only the command layer prints.
public struct CommandError: Error, CustomStringConvertible, Sendable {
    public let exitCode: ExitCode
    public let message: String

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public var description: String { message }
}
