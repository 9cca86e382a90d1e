import Foundation
import Kafka
import StreamLearnCore

/// `streamlearn run`: the daemon: learn continuously from a training topic.
///
/// Reads and validates the configuration as a whole (exit 78 listing every problem, before any
/// connection or checkpoint directory is touched), then hands over to `Daemon`.
enum RunCommand: Command {
    static let spec = CommandSpec(
        name: "run",
        summary: "the daemon: learn continuously from a training topic",
        usage: "streamlearn run --config PATH [--check] [--reset-model]",
        options: [
            .value("config", "PATH", help: "the daemon's JSON configuration (required); see config/README.md"),
            .flag("check", help: "validate the configuration, print a summary, and exit (0 valid, 78 not)"),
            .flag(
                "reset-model",
                help: "when the checkpoint's model shape differs from the configuration, start a new model"
            ),
        ],
        discussion: """
            Consumes the training topics in mini-datasets of up to poll_max_records, scores each
            with the current model (prequential metrics), trains on it, and checkpoints the model
            with its offsets every checkpoint.interval_seconds; offsets are committed to the group
            only once the checkpoint holding them is on disk, so a crash never trains a record
            twice. Under systemd (Type=notify) it sends READY=1, STATUS=, WATCHDOG=1 and
            STOPPING=1. SIGTERM or Ctrl-C stops it gracefully (final checkpoint, commit, group
            leave); a second one exits at once.

            Exit status: 0 after a graceful stop, 78 for a configuration problem or a checkpoint
            of another model shape (see --reset-model), 65 when every checkpoint is damaged, 74
            when the checkpoint directory is unusable, 1 after a fatal Kafka error.

            Example:
              streamlearn run --config /etc/streamlearn/streamlearn.json --check
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        let path = try arguments.required("config")
        guard arguments.positionals.isEmpty else {
            throw arguments.usage("unexpected argument '\(arguments.positionals[0])'")
        }
        let configuration = try loadConfiguration(path)
        if arguments.has("check") {
            print(summary(configuration, path: path))
            return .success
        }
        ProcessMemory.configureAllocator()
        let options = DaemonOptions(resetModel: arguments.has("reset-model"))
        let daemon = try Daemon(configuration: configuration, options: options)
        return try daemon.run()
    }

    /// Loads the file with librdkafka's verdict on every kafka property; exit 78 listing every
    /// problem otherwise.
    static func loadConfiguration(_ path: String) throws(CommandError) -> DaemonConfiguration {
        do {
            return try DaemonConfiguration.load(contentsOf: path, kafkaPropertyChecker: checkKafkaProperty)
        } catch {
            throw CommandError(.configError, "streamlearn run: \(error.description)")
        }
    }

    /// librdkafka's objection to one property, or nil.
    static func checkKafkaProperty(_ key: String, _ value: String) -> String? {
        guard let refused = KafkaConfiguration([KafkaConfiguration.Property(key: key, value: value)]).validate().first
        else { return nil }
        if case .invalidProperty(_, let reason) = refused { return reason }
        return refused.description
    }

    /// What `--check` prints for a valid configuration.
    static func summary(_ configuration: DaemonConfiguration, path: String) -> String {
        let training = configuration.training
        var lines = [
            "Configuration '\(path)' is valid.",
            "  kafka: \(configuration.kafka.bootstrapServers), \(configuration.kafka.properties.count) properties",
            "  training: \(training.topics.joined(separator: ", ")) as group '\(training.groupID)', "
                + "up to \(training.pollMaxRecords) records per poll, batch \(training.batchSize), "
                + "\(training.epochsPerPoll) epoch(s) per poll",
            "  model: \(configuration.canonicalModelDescription) (hash \(configuration.configurationHash))",
            "  checkpoint: '\(configuration.checkpoint.directory)' every "
                + "\(KafkaCommandContext.describe(configuration.checkpoint.interval)), keep \(configuration.checkpoint.keep)",
            "  metrics: \(configuration.metrics.topic.map { "topic '\($0)'" } ?? "log and status only") every "
                + KafkaCommandContext.describe(configuration.metrics.interval),
        ]
        if let inference = configuration.inference {
            lines.append("  inference: \(inference.topics.joined(separator: ", ")) -> '\(inference.predictionsTopic)'")
        }
        if let deadLetter = configuration.deadLetter {
            lines.append("  dead letter: '\(deadLetter.topic)'")
        }
        lines.append("  instance: \(configuration.instance), log level \(configuration.logLevel)")
        return lines.joined(separator: "\n")
    }
}
