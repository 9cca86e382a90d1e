import Foundation
import StreamLearnCore

/// `streamlearn bench model|pipeline`.
enum BenchCommands: CommandGroup {
    static let name = "bench"
    static let summary = "measure model and pipeline throughput"
    static let subcommands: [any Command.Type] = [BenchModelCommand.self, BenchPipelineCommand.self]
}

/// `streamlearn bench model`: training and prediction throughput of the models.
enum BenchModelCommand: Command {
    static let spec = CommandSpec(
        name: "bench model",
        summary: "model training and prediction throughput",
        usage: "streamlearn bench model [--json]",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn bench model: not built yet")
    }
}

/// `streamlearn bench pipeline`: end-to-end daemon throughput beside raw consumption.
enum BenchPipelineCommand: Command {
    static let spec = CommandSpec(
        name: "bench pipeline",
        summary: "end-to-end pipeline throughput",
        usage: "streamlearn bench pipeline [--json]",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn bench pipeline: not built yet")
    }
}
