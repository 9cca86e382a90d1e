import Foundation
import StreamLearnCore

/// A subcommand of `streamlearn`: its help and argument spec, and what it does.
public protocol Command: Sendable {
    static var spec: CommandSpec { get }

    /// Runs the command; throws `CommandError` (or an error that converts to one) on failure.
    static func run(_ arguments: ParsedArguments) throws -> ExitCode
}

/// A command made of subcommands, such as `topics create` and `bench model`.
public protocol CommandGroup: Sendable {
    static var name: String { get }
    static var summary: String { get }
    static var subcommands: [any Command.Type] { get }
}

/// The entry point: picks the command from argv and turns errors into messages and exit codes.
public enum StreamLearnCLI {
    public static let commands: [any Command.Type] = [
        BrokerCommand.self,
        GenerateCommand.self,
        LoadCommand.self,
        LagCommand.self,
        TrainCommand.self,
        EvaluateCommand.self,
        RunCommand.self,
        PredictCommand.self,
        InspectCommand.self,
        DemoCommand.self,
    ]

    public static let groups: [any CommandGroup.Type] = [
        TopicsCommands.self,
        BenchCommands.self,
    ]

    /// Runs `streamlearn` with `arguments` (argv without the program name); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        do {
            return try dispatch(arguments).rawValue
        } catch let error as CommandError {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            return error.exitCode.rawValue
        } catch {
            FileHandle.standardError.write(Data("streamlearn: \(error)\n".utf8))
            return ExitCode.failure.rawValue
        }
    }

    static func dispatch(_ arguments: [String]) throws -> ExitCode {
        guard let first = arguments.first, first != "--help", first != "-h", first != "help" else {
            print(topLevelHelp)
            return .success
        }
        if first == "--version" {
            print("streamlearn \(streamLearnVersion)")
            return .success
        }
        let rest = Array(arguments.dropFirst())
        if let command = commands.first(where: { $0.spec.name == first }) {
            return try runCommand(command, rest)
        }
        if let group = groups.first(where: { $0.name == first }) {
            guard let second = rest.first, second != "--help", second != "-h" else {
                print(groupHelp(group))
                return .success
            }
            guard let command = group.subcommands.first(where: { $0.spec.name == "\(group.name) \(second)" }) else {
                throw CommandError(
                    .usage,
                    "streamlearn \(group.name): unknown subcommand '\(second)'; see 'streamlearn \(group.name) --help'"
                )
            }
            return try runCommand(command, Array(rest.dropFirst()))
        }
        throw CommandError(.usage, "streamlearn: unknown command '\(first)'; see 'streamlearn --help'")
    }

    private static func runCommand(_ command: any Command.Type, _ arguments: [String]) throws -> ExitCode {
        let parsed = try command.spec.parse(arguments)
        if parsed.isHelpRequested {
            print(command.spec.helpText)
            return .success
        }
        return try command.run(parsed)
    }

    static var topLevelHelp: String {
        var text = """
            streamlearn \(streamLearnVersion): learn from Kafka streams

            Usage: streamlearn COMMAND [OPTIONS]

            Commands:

            """
        var rows: [(String, String)] = commands.map { ($0.spec.name, $0.spec.summary) }
        for group in groups {
            rows += group.subcommands.map { ($0.spec.name, $0.spec.summary) }
        }
        for (name, summary) in rows.sorted(by: { $0.0 < $1.0 }) {
            text += "  " + name.padding(toLength: 20, withPad: " ", startingAt: 0) + summary + "\n"
        }
        text += "\nRun 'streamlearn COMMAND --help' for a command's options."
        return text
    }

    static func groupHelp(_ group: any CommandGroup.Type) -> String {
        var text = "\(group.summary)\n\nUsage: streamlearn \(group.name) SUBCOMMAND [OPTIONS]\n\nSubcommands:\n"
        for command in group.subcommands {
            text +=
                "  " + command.spec.name.padding(toLength: 20, withPad: " ", startingAt: 0) + command.spec.summary
                + "\n"
        }
        return text
    }
}

/// The version printed by `--version` and stored in checkpoint metadata.
public let streamLearnVersion = "0.1.0"
