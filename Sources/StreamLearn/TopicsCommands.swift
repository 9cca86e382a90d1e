import Foundation
import StreamLearnCore

/// `streamlearn topics create|describe`.
enum TopicsCommands: CommandGroup {
    static let name = "topics"
    static let summary = "create and describe topics"
    static let subcommands: [any Command.Type] = [TopicsCreateCommand.self, TopicsDescribeCommand.self]
}

/// `streamlearn topics create`: creates a topic through the admin API.
enum TopicsCreateCommand: Command {
    static let spec = CommandSpec(
        name: "topics create",
        summary: "create a topic",
        usage: "streamlearn topics create NAME --partitions N [--replication-factor R] -b B",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn topics create: not built yet")
    }
}

/// `streamlearn topics describe`: partitions, leaders and watermarks.
enum TopicsDescribeCommand: Command {
    static let spec = CommandSpec(
        name: "topics describe",
        summary: "describe topics",
        usage: "streamlearn topics describe [NAME] -b B",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn topics describe: not built yet")
    }
}
