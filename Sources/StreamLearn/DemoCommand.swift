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
                help: "generated training rows per second, 100 to 1000000 "
                    + "(default \(DemoFormat.grouped(Double(defaultRate))))"
            ),
        ],
        discussion: """
            Starts everything in this process and needs nothing else: the embedded Kafka broker
            (librdkafka's mock cluster, in memory); producers of SUSY-shaped rows (as
            'streamlearn generate' writes them, label in the key) at a steady rate, into
            'susy-train' and, at a quarter of that rate, labelled test rows of the same process
            into 'susy-test', both with a concept drift half-way and 1 row in 2,000 malformed on
            purpose (a field that is not a number, a missing field, NaN); and the daemon of
            'streamlearn run' with the settings of config/streamlearn.json: it trains the
            tutorial's MLP (batch 32, prequential metrics) on 'susy-train', scores 'susy-test'
            with delivery exactly-once into 'streamlearn.predictions', and copies bad records
            to 'streamlearn.dead-letter'. Unlike that file, metrics come every second and
            checkpoints every 3 s (inference scores with the newest checkpoint's model), into a
            temporary directory that is removed at the end.

            The daemon's metrics, read back from the 'streamlearn.metrics' topic, show as a
            table that refreshes in place on a terminal, or as one line per second otherwise:
            training (records, rate, lag, accuracy, AUC), predictions made and the inference
            accuracy on the labelled test rows, bad records and the copies dead-lettered.
            After --seconds, or at Ctrl-C, the daemon stops gracefully (final checkpoint) and a
            summary follows: rows produced and trained, the prequential accuracy and AUC at the
            end beside the best any model can reach on these rows (the generator's exact
            posterior), the predictions and their accuracy, the bad records refused and
            dead-lettered, the checkpoints written, how many messages the predictions and
            dead-letter topics hold, and the newest message of each. A second Ctrl-C exits at
            once.

            The consumer groups' first join takes about 3 s on the embedded broker, so training
            and inference start a few seconds in.
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
