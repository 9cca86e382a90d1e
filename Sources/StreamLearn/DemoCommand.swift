import Foundation
import StreamLearnCore

/// `streamlearn demo`: broker, generated data and daemon in one process.
enum DemoCommand: Command {
    static let spec = CommandSpec(
        name: "demo",
        summary: "broker, generated data and daemon in one process",
        usage: "streamlearn demo [--seconds N]",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn demo: not built yet")
    }
}
