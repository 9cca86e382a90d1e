import Foundation
import StreamLearnCore

/// `streamlearn demo`: broker, generated data and daemon in one process.
enum DemoCommand: Command {
    static let defaultSeconds = 60
    static let defaultRate = 20_000

    static let spec = CommandSpec(
        name: "demo",
        summary: "broker, generated data and daemon in one process",
        usage: "streamlearn demo [--seconds N] [--rate ROWS]",
        options: [
            .value("seconds", "N", help: "how long to run, 1 to 86400 (default \(defaultSeconds))"),
            .value(
                "rate",
                "ROWS",
                help: "generated rows per second, 100 to 1000000 (default \(DemoFormat.grouped(Double(defaultRate))))"
            ),
        ],
        discussion: """
            Starts everything in this process and needs nothing else: the embedded Kafka broker
            (librdkafka's mock cluster, in memory), a producer of SUSY-shaped rows (as
            'streamlearn generate' writes them) into 'susy-train' at a steady rate, with a
            concept drift half-way, and the daemon of 'streamlearn run' with the settings of
            config/streamlearn.json (the tutorial's MLP, batch 32, prequential metrics), except
            that metrics come every second and checkpoints every 10 s, into a temporary
            directory that is removed at the end.

            The daemon's metrics, read back from the 'streamlearn.metrics' topic, show as a
            table that refreshes in place on a terminal, or as one line per second otherwise.
            After --seconds, or at Ctrl-C, the daemon stops gracefully (final checkpoint) and a
            summary follows: records trained and their rate, the prequential accuracy and AUC
            at the end beside the best any model can reach on these rows (the generator's exact
            posterior), and the checkpoints written. A second Ctrl-C exits at once.

            The consumer group's first join takes about 3 s on the embedded broker, so
            training starts a few seconds in.
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        let seconds = try arguments.int("seconds", default: defaultSeconds, in: 1...86_400)
        let rate = try arguments.int("rate", default: defaultRate, in: 100...1_000_000)
        guard arguments.positionals.isEmpty else {
            throw arguments.usage("unexpected argument '\(arguments.positionals[0])'")
        }
        return try DemoSession(seconds: seconds, rowsPerSecond: rate).run()
    }
}
