import Foundation
import StreamLearnCore

/// `streamlearn broker`: in-memory Kafka-protocol broker for demos and tests.
enum BrokerCommand: Command {
    static let spec = CommandSpec(
        name: "broker",
        summary: "in-memory Kafka-protocol broker for demos and tests",
        usage: "streamlearn broker [--brokers N] [--topic NAME:PARTITIONS]... [--bootstrap-file PATH]",
        options: []
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        throw CommandError(.failure, "streamlearn broker: not built yet")
    }
}
