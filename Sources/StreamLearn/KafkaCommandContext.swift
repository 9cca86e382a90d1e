import Foundation
import Kafka
import Locking
import StreamLearnCore

extension OptionSpec {
    /// `--timeout DURATION`, shared by the one-shot commands that talk to Kafka.
    static let kafkaTimeout = OptionSpec.value(
        "timeout",
        "DURATION",
        help: "give up on an unreachable broker after this long (default 10s; e.g. 500ms, 30s, 2m)"
    )
}

/// What a one-shot command that talks to Kafka needs from its `-b`, `-X` and `--timeout`
/// flags: the client configuration, how long to wait for the broker, a handler that shows
/// librdkafka's warnings, and the mapping of Kafka errors to messages and exit statuses.
///
/// The timeout comes from `--timeout`, else from `-X socket.timeout.ms`, else 10 s. A
/// `KafkaError` that means "no broker answered" becomes exit status 69 with a message naming
/// the bootstrap servers; any other becomes status 1 with librdkafka's code and reason.
struct KafkaCommandContext: Sendable {
    /// How long a command waits for the broker when neither flag says otherwise.
    static let defaultTimeout: Duration = .seconds(10)

    /// "streamlearn lag", for the start of every message.
    let commandName: String

    /// The bootstrap servers as the user gave them, for messages.
    let bootstrapServers: String

    /// `bootstrap.servers` plus every `-X` property, in the order given.
    let configuration: KafkaConfiguration

    /// The longest wait for a broker, for each call that needs one.
    let timeout: Duration

    /// Writes to stderr with sd-daemon priority prefixes, labelled with the command.
    let logger: Logger

    /// Reads `-b`, `-X` and `--timeout`; throws a usage error (exit 64) naming the flag when one
    /// is missing or wrong, including a property that librdkafka refuses.
    init(_ arguments: ParsedArguments) throws {
        commandName = "streamlearn \(arguments.command)"
        logger = Logger(label: commandName)
        let properties = try arguments.properties()
        let bootstrapKeys: Set<String> = ["bootstrap.servers", "metadata.broker.list"]
        let propertyServers = properties.last(where: { bootstrapKeys.contains($0.key) })?.value
        switch (arguments.string("bootstrap-server"), propertyServers) {
        case (let flag?, nil):
            bootstrapServers = flag
        case (nil, let property?):
            bootstrapServers = property
        case (.some, .some):
            throw arguments.usage("give the brokers once, with -b or with -X bootstrap.servers, not both")
        case (nil, nil):
            throw arguments.usage("missing required option '--bootstrap-server' (-b HOST:PORT)")
        }
        guard !bootstrapServers.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw arguments.usage("option '--bootstrap-server' needs at least one HOST:PORT")
        }

        var configuration = KafkaConfiguration(["bootstrap.servers": bootstrapServers])
        for property in properties where !bootstrapKeys.contains(property.key) {
            configuration[property.key] = property.value
        }
        if let refused = configuration.validate().first {
            throw arguments.usage("\(refused) (from -X)")
        }
        self.configuration = configuration

        if arguments.string("timeout") != nil {
            timeout = try arguments.duration(
                "timeout",
                default: Self.defaultTimeout,
                in: .milliseconds(1) ... .seconds(86_400)
            )
        } else if let socketTimeout = configuration["socket.timeout.ms"], let milliseconds = Int(socketTimeout) {
            timeout = .milliseconds(milliseconds)
        } else {
            timeout = Self.defaultTimeout
        }
    }

    /// Shows librdkafka's warnings and errors on stderr, each distinct text once: a broker that
    /// refuses connections would otherwise repeat the same line at every reconnect.
    var logHandler: KafkaLogHandler {
        let logger = logger
        let seen = SeenLines()
        return { level, facility, message in
            guard level <= Int32(LogLevel.warning.rawValue), seen.isFirst(facility + message) else { return }
            logger.log(LogLevel(rawValue: Int(level)) ?? .warning, "librdkafka: \(message)", ["facility": facility])
        }
    }

    /// The message and exit status for `error`: 69 with the bootstrap servers named when no broker
    /// answered, 1 otherwise; errors that are not Kafka's pass through as status 1.
    func commandError(_ error: any Error) -> CommandError {
        if let error = error as? CommandError { return error }
        guard let kafkaError = error as? KafkaError else {
            return CommandError(.failure, "\(commandName): \(error)")
        }
        if kafkaError.isBrokerUnavailable {
            return CommandError(
                .unavailable,
                "\(commandName): Failed to reach Kafka at '\(bootstrapServers)' within "
                    + "\(Self.describe(timeout)): \(kafkaError)"
            )
        }
        return CommandError(.failure, "\(commandName): \(kafkaError)")
    }

    /// Runs `body`, turning what it throws into a `CommandError` with `commandError(_:)`.
    func mappingErrors<Result>(_ body: () throws -> Result) throws(CommandError) -> Result {
        do {
            return try body()
        } catch {
            throw commandError(error)
        }
    }

    /// "10s", "2.5s", "500ms": a duration as a person writes it.
    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds < 1000 || milliseconds % 100 != 0 { return "\(milliseconds)ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(Double(milliseconds) / 1000)s"
    }
}

/// Remembers which log lines were shown, up to a bound, so each distinct line shows once.
///
/// Thread-safe: librdkafka logs from several of its threads at once.
private final class SeenLines: Sendable {
    private static let limit = 256
    private let lines = Locked<Set<String>>([])

    /// True the first time `line` is offered; false after, and for every line once the bound is hit.
    func isFirst(_ line: String) -> Bool {
        lines.withLock { lines in
            guard lines.count < Self.limit else { return false }
            return lines.insert(line).inserted
        }
    }
}
