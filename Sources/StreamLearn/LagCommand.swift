import Foundation
import StreamLearnCore

/// `streamlearn lag`: show a consumer group's committed offsets and lag.
enum LagCommand: Command {
    static let spec = CommandSpec(
        name: "lag",
        summary: "show a consumer group's committed offsets and lag",
        usage: "streamlearn lag --group G -b B",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn lag: not built yet")
    }
}
