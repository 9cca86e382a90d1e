import Foundation
import StreamLearnCore

/// `streamlearn predict`: score CSV rows offline, one probability per line.
enum PredictCommand: Command {
    static let spec = CommandSpec(
        name: "predict",
        summary: "score CSV rows offline, one probability per line",
        usage: "streamlearn predict --model MODEL [--input PATH|-]",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn predict: not built yet")
    }
}
