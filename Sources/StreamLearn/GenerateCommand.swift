import Foundation
import StreamLearnCore

/// `streamlearn generate`: SUSY-shaped synthetic rows to stdout.
enum GenerateCommand: Command {
    static let spec = CommandSpec(
        name: "generate",
        summary: "SUSY-shaped synthetic rows to stdout",
        usage: "streamlearn generate [--rows N] [--seed S] [--drift-at ROW]",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn generate: not built yet")
    }
}
