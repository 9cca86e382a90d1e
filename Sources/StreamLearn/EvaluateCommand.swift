import Foundation
import StreamLearnCore

/// `streamlearn evaluate`: evaluate a model as a consumer group.
enum EvaluateCommand: Command {
    static let spec = CommandSpec(
        name: "evaluate",
        summary: "evaluate a model as a consumer group",
        usage: "streamlearn evaluate --model MODEL --topic T --group G [--stream-timeout DURATION] -b B",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn evaluate: not built yet")
    }
}
