import Foundation
import StreamLearnCore

/// `streamlearn load`: load a CSV dataset into topics.
enum LoadCommand: Command {
    static let spec = CommandSpec(
        name: "load",
        summary: "load a CSV dataset into topics",
        usage: "streamlearn load --file PATH --topic T [--test-topic T2 --test-fraction F] [--rows N] [--seed S] -b B",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn load: not built yet")
    }
}
