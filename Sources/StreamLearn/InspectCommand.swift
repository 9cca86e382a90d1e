import Foundation
import StreamLearnCore

/// `streamlearn inspect`: print a checkpoint's metadata as JSON.
enum InspectCommand: Command {
    static let spec = CommandSpec(
        name: "inspect",
        summary: "print a checkpoint's metadata as JSON",
        usage: "streamlearn inspect MODEL",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn inspect: not built yet")
    }
}
