import Foundation
import Kafka
import StreamLearnCore

/// `streamlearn broker`: in-memory Kafka-protocol broker for demos and tests.
///
/// Runs librdkafka's mock cluster on 127.0.0.1, prints its bootstrap address as the first line
/// of stdout (and into `--bootstrap-file` when asked), and serves until SIGTERM or SIGINT.
enum BrokerCommand: Command {
    /// Partitions the mock gives a topic it creates on first use (librdkafka 2.0.2's default).
    static let autoCreatedPartitionCount = 4

    /// Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..".
    static let maximumTopicNameLength = 249

    static let spec = CommandSpec(
        name: "broker",
        summary: "in-memory Kafka-protocol broker for demos and tests",
        usage: "streamlearn broker [--brokers N] [--topic NAME:PARTITIONS]... [--bootstrap-file PATH]",
        options: [
            .value("brokers", "N", help: "brokers in the cluster, 1 to 16 (default 1)"),
            .value(
                "topic",
                "NAME:PARTITIONS",
                repeatable: true,
                help: "create this topic at start, may be repeated (e.g. susy-train:1)"
            ),
            .value(
                "bootstrap-file",
                "PATH",
                help: "also write the bootstrap address to PATH (atomically; removed at exit)"
            ),
        ],
        discussion: """
            Runs librdkafka's mock cluster: real Kafka protocol over TCP on 127.0.0.1, ephemeral
            ports. The first line on stdout is the bootstrap address (127.0.0.1:PORT[,...]) to
            pass as -b to the other commands; notes go to stderr. It serves until SIGTERM or
            SIGINT (Ctrl-C), then stops cleanly with status 0.

            Know its limits before you rely on it:
              - memory only: every record is lost when it stops;
              - each partition keeps only its newest 5 MiB and 100,000 message sets; older
                records are dropped silently and the low watermark rises ('streamlearn load'
                compresses with lz4 and checks the watermarks, so it notices);
              - a consumer group's first join waits about 3 s (the coordinator's initial
                rebalance delay);
              - it does not implement CreateTopics: create topics with --topic here, or let
                a producer create one on first use, with \(autoCreatedPartitionCount) partitions;
              - transactions are accepted but their isolation is not enforced.

            Example:
              streamlearn broker --topic susy-train:1 --topic susy-test:2 --bootstrap-file /tmp/bootstrap
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        let brokerCount = try arguments.int("brokers", default: 1, in: 1...16)
        let topics = try parseTopics(arguments)
        let bootstrapFile = arguments.string("bootstrap-file")
        guard arguments.positionals.isEmpty else {
            throw arguments.usage("unexpected argument '\(arguments.positionals[0])'")
        }
        let logger = Logger(label: "streamlearn broker")

        // Catch the signals before anyone can know the address, so that a stop request that
        // follows the first line at once is served, not fatal.
        let signals = ShutdownSignals()
        defer { signals.cancel() }
        // A reader of stdout that goes away must not kill the broker.
        signal(SIGPIPE, SIG_IGN)

        let cluster: MockCluster
        do {
            cluster = try MockCluster(brokerCount: brokerCount, logHandler: mockLogHandler(logger))
            for topic in topics {
                try cluster.createTopic(
                    topic.name,
                    partitions: topic.partitions,
                    replicationFactor: Int32(min(brokerCount, 3))
                )
            }
        } catch {
            throw CommandError(.failure, "streamlearn broker: \(error)")
        }
        let address = cluster.bootstrapServers

        // The file first: whoever sees the first line may read the file at once.
        if let bootstrapFile {
            try writeAtomically(address + "\n", to: bootstrapFile)
        }
        writeStandardOutput(address + "\n")
        let topicList =
            topics.isEmpty
            ? "none yet"
            : topics.map { "\($0.name) (\($0.partitions) \($0.partitions == 1 ? "partition" : "partitions"))" }
                .joined(separator: ", ")
        logger.notice(
            "Serving a Kafka mock cluster of \(brokerCount) \(brokerCount == 1 ? "broker" : "brokers") "
                + "at \(address); topics: \(topicList). Stop it with SIGTERM or Ctrl-C."
        )
        logger.notice(
            "Memory only: each partition keeps only its newest 5 MiB and 100,000 message sets and "
                + "silently drops older records; a group's first join waits about 3 s; unknown topics "
                + "are created on first use with \(autoCreatedPartitionCount) partitions."
        )

        let received = signals.wait()
        logger.notice("Received \(ShutdownSignals.name(of: received)), stopping.")
        if let bootstrapFile { removeIfUnchanged(bootstrapFile, expected: address + "\n", logger: logger) }
        withExtendedLifetime(cluster) {}
        return .success
    }

    /// A topic to create at start.
    struct TopicSpec: Equatable {
        let name: String
        let partitions: Int32
    }

    /// Reads every `--topic NAME:PARTITIONS`; throws a usage error naming the bad one.
    static func parseTopics(_ arguments: ParsedArguments) throws -> [TopicSpec] {
        var topics: [TopicSpec] = []
        for text in arguments.strings("topic") {
            guard let colon = text.lastIndex(of: ":") else {
                throw arguments.usage("option '--topic' takes NAME:PARTITIONS, got '\(text)'")
            }
            let name = String(text[..<colon])
            if let problem = topicNameProblem(name) {
                throw arguments.usage("option '--topic' got '\(text)': \(problem)")
            }
            guard let partitions = Int32(text[text.index(after: colon)...]), (1...10_000).contains(partitions) else {
                throw arguments.usage("option '--topic' got '\(text)': PARTITIONS must be an integer from 1 to 10000")
            }
            guard !topics.contains(where: { $0.name == name }) else {
                throw arguments.usage("option '--topic' names '\(name)' twice")
            }
            topics.append(TopicSpec(name: name, partitions: partitions))
        }
        return topics
    }

    /// Why `name` is not a legal Kafka topic name, or nil when it is.
    static func topicNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "the topic name is empty" }
        if name == "." || name == ".." { return "'.' and '..' are not topic names" }
        if name.utf8.count > maximumTopicNameLength {
            return "a topic name has at most \(maximumTopicNameLength) characters"
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".utf8)
        if !name.utf8.allSatisfy(allowed.contains) {
            return "a topic name may hold only letters, digits, '.', '_' and '-'"
        }
        return nil
    }

    /// The mock's own warnings and errors, on stderr.
    private static func mockLogHandler(_ logger: Logger) -> KafkaLogHandler {
        { level, facility, message in
            guard level <= Int32(LogLevel.warning.rawValue) else { return }
            logger.log(LogLevel(rawValue: Int(level)) ?? .warning, "librdkafka: \(message)", ["facility": facility])
        }
    }

    /// Writes `text` to file descriptor 1 at once, unbuffered; a closed reader is ignored.
    private static func writeStandardOutput(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Writes `text` to a temporary file beside `path`, syncs it, then renames it over `path`,
    /// so that a reader sees either no file or the whole address.
    private static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".tmp.\(getpid())"
        func fail(_ reason: String) -> CommandError {
            unlink(temporary)
            return CommandError(.ioError, "streamlearn broker: Failed to write bootstrap file '\(path)': \(reason)")
        }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw fail(String(cString: strerror(errno))) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let writeError = errno
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count else {
            throw fail(written < 0 ? String(cString: strerror(writeError)) : "short write")
        }
        guard synced else { throw fail(String(cString: strerror(errno))) }
        guard rename(temporary, path) == 0 else { throw fail(String(cString: strerror(errno))) }
    }

    /// Removes the bootstrap file at exit unless someone replaced it meanwhile.
    private static func removeIfUnchanged(_ path: String, expected: String, logger: Logger) {
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8), contents == expected else { return }
        if unlink(path) != 0 {
            logger.warning(
                "Failed to remove bootstrap file '\(path)': \(String(cString: strerror(errno))), ignoring"
            )
        }
    }
}
