/// One thing wrong with a configuration, at the key path where it was found.
///
/// `description` is the sentence an operator reads, key path first:
/// `training.batch_size must be between 1 and 65536, got 0`.
public struct ConfigurationProblem: Equatable, Sendable, CustomStringConvertible {
    /// Where the problem is: dotted keys, array indexes in brackets, and keys that are not plain
    /// identifiers in double quotes, as in `kafka."bootstrap.servers"` or `model.hidden[1]`.
    /// Empty for the document itself.
    public var keyPath: String
    /// The rest of the sentence after the key path, for example `must be a boolean, got string`.
    public var detail: String

    public init(keyPath: String, detail: String) {
        self.keyPath = keyPath
        self.detail = detail
    }

    public var description: String {
        keyPath.isEmpty ? "the configuration \(detail)" : "\(keyPath) \(detail)"
    }
}

/// Why a daemon configuration cannot be used. Every case means exit status 78 (`.configError`).
public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(path: String, reason: String)
    /// The file is not valid JSON; nothing past the first syntax error is checked.
    case malformed(path: String, line: Int, column: Int, reason: String)
    /// The JSON is well-formed but has problems; all of them are listed, in the order found.
    case invalid(path: String, problems: [ConfigurationProblem])

    /// The problems of an `.invalid` configuration; a single summary problem for the others.
    public var problems: [ConfigurationProblem] {
        switch self {
        case .unreadable(_, let reason):
            return [ConfigurationProblem(keyPath: "", detail: "cannot be read: \(reason)")]
        case .malformed(_, let line, let column, let reason):
            let detail = "is not valid JSON: line \(line), column \(column): \(reason)"
            return [ConfigurationProblem(keyPath: "", detail: detail)]
        case .invalid(_, let problems):
            return problems
        }
    }

    /// The exit status a command returns for this error.
    public var exitCode: ExitCode { .configError }

    /// One line for the first two cases; for `.invalid`, a header line and then one indented
    /// line per problem, so that each problem can be read (and grepped) on its own.
    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "Failed to read configuration file '\(path)': \(reason)"
        case .malformed(let path, let line, let column, let reason):
            return "Failed to parse configuration file '\(path)': line \(line), column \(column): \(reason)"
        case .invalid(let path, let problems):
            let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
            let lines = problems.map { "  " + $0.description }
            return (["Invalid configuration file '\(path)' (\(count)):"] + lines).joined(separator: "\n")
        }
    }

    /// The same message and exit status as a `CommandError`, for the command layer.
    public var commandError: CommandError { CommandError(exitCode, description) }
}
