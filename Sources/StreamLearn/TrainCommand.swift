import Foundation
import StreamLearnCore

/// `streamlearn train`: train for epochs from a partition and offset.
enum TrainCommand: Command {
    static let spec = CommandSpec(
        name: "train",
        summary: "train for epochs from a partition and offset",
        usage: "streamlearn train --topic T [--partition P] [--offset O] [--epochs E] [--batch-size N] [--shuffle-buffer N] --out MODEL -b B",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn train: not built yet")
    }
}
