import Foundation
import StreamLearnCore

/// `streamlearn run`: the daemon: learn continuously from a training topic.
enum RunCommand: Command {
    static let spec = CommandSpec(
        name: "run",
        summary: "the daemon: learn continuously from a training topic",
        usage: "streamlearn run --config PATH [--check] [--reset-model]",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn run: not built yet")
    }
}
