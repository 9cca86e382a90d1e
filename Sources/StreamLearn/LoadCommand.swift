import Foundation
import Gzip
import Kafka
import StreamLearnCore

/// `streamlearn load`: load a labelled CSV dataset into a training topic and a test topic.
///
/// Parses the flags, asks the cluster for the topics' partitions and watermarks, hands the
/// reading and producing to `DatasetLoader`, then checks each partition's watermarks against
/// what was written and prints the summary.
enum LoadCommand: Command {
    static let defaultSeed = 42

    /// The compression `load` asks for unless `-X compression.codec` says otherwise.
    ///
    /// zstd, not lz4: the embedded broker keeps 5 MiB per partition, and the tutorial's
    /// 60,000-row training partition of generated rows fits with zstd (about 4.3 MiB) but not
    /// with lz4 (about 7 MiB; docs/data-commands.md has the measurements).
    static let defaultCompression = "zstd"

    /// zstd's fastest level: here it compresses about as well as the default level 3, at more
    /// than twice the speed.
    static let defaultCompressionLevel = "1"

    /// Producers that write in parallel, at most one per core (see `DatasetLoader`).
    static let maximumProducerCount = 2

    static let spec = CommandSpec(
        name: "load",
        summary: "load a CSV dataset into topics",
        usage: """
            streamlearn load --file PATH --topic T [--test-topic T2 --test-fraction F] [--rows N] [--seed S]
                   [--header] [--skip-bad] [--features N] -b B [-X KEY=VALUE]... [--timeout DURATION]
            """,
        options: [
            .value(
                "file",
                short: "f",
                "PATH",
                help: "CSV, CSV.gz (told by content) or - for standard input (required)"
            ),
            .value("topic", short: "t", "T", help: "topic for the training rows (required; must exist)"),
            .value("test-topic", "T2", help: "topic for the test rows (with --test-fraction)"),
            .value("test-fraction", "F", help: "share of rows for the test topic, above 0 and below 1"),
            .value("rows", short: "n", "N", help: "load only the first N rows (default: all)"),
            .value("seed", "S", help: "seed of the test split; same seed, same split (default \(defaultSeed))"),
            .value("features", "N", help: "features per row (default: the first row's fields minus the label)"),
            .flag("header", help: "the first line holds column names: skip it"),
            .flag("skip-bad", help: "skip and count malformed rows instead of stopping at the first"),
            .bootstrapServer,
            .property,
            .kafkaTimeout,
        ],
        discussion: """
            Each row is a label (0 or 1, any decimal form such as 1.0 or 1.000e+00) followed by
            numbers. The label becomes the message key, "0" or "1"; the rest of the line, as
            written, the message value, as in the TensorFlow-IO Kafka tutorial. Blank lines are
            skipped.

            With --test-topic, a seeded uniformly random subset of the rows goes to the test
            topic: exactly round(F x rows) of them when the number of rows is known in advance
            (a plain file, which is counted first, or --rows N), otherwise each row with
            probability F. Rows keep their file order within each topic. Rows are spread
            evenly over each topic's partitions, round-robin by row, not by key.

            A row that is not a label plus as many numbers as the first row (or --features N)
            stops the load with status 65 and names its line; the rows before it have been
            written. With --skip-bad such rows are counted, and the first \(DatasetLoader.describedRejectLimit) described.
            The topics must exist; the embedded broker creates them with 'broker --topic'.

            No row is lost silently: a failed delivery fails the command (69 when the broker
            is unreachable), and afterwards every partition's watermarks are compared with what
            was written; if the broker kept less (the embedded broker keeps only the newest
            5 MiB of each partition), the command says so and fails. Messages are compressed
            with \(defaultCompression) at level \(defaultCompressionLevel) unless -X compression.codec says otherwise.
            Progress shows on a terminal only. docs/data-commands.md has more.

            Example:
              streamlearn generate --rows 100000 > susy.csv
              streamlearn load --file susy.csv --topic susy-train --test-topic susy-test --test-fraction 0.4 -b 127.0.0.1:9092
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        let plan = try makePlan(arguments)
        let context = try KafkaCommandContext(arguments)
        let inputName = plan.path == "-" ? "standard input" : "'\(plan.path)'"

        // The file first: a missing file is reported without waiting for a broker.
        // The rows are counted only for an exact test split.
        let rowCount: Int?
        do {
            _ = try GzipLineReader(path: plan.path)
            rowCount =
                plan.testTopic == nil ? nil : try DatasetLoader.countRows(path: plan.path, hasHeader: plan.hasHeader)
        } catch let error as GzipError {
            throw inputError(error, context)
        }

        var configuration = context.configuration
        if configuration["compression.codec"] == nil && configuration["compression.type"] == nil {
            configuration["compression.codec"] = defaultCompression
            if configuration["compression.level"] == nil {
                configuration["compression.level"] = defaultCompressionLevel
            }
        }
        if configuration["message.timeout.ms"] == nil {
            // A message that cannot be delivered within the command's timeout fails the load
            // then, not after librdkafka's default five minutes.
            let (seconds, attoseconds) = context.timeout.components
            configuration["message.timeout.ms"] = String(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        }
        if configuration["queue.buffering.max.messages"] == nil {
            configuration["queue.buffering.max.messages"] = "250000"
        }
        if configuration["delivery.report.only.error"] == nil {
            // Failures are what load reports; a report per delivered row only costs time.
            configuration["delivery.report.only.error"] = "true"
        }

        let topicNames = [plan.trainTopic] + (plan.testTopic.map { [$0] } ?? [])
        func makeProducer() throws -> KafkaProducer {
            try KafkaProducer(
                configuration: configuration,
                queueFullTimeout: context.timeout,
                logHandler: context.logHandler
            )
        }
        let (producer, described) = try context.mappingErrors {
            let producer = try makeProducer()
            let admin = KafkaAdmin(sharing: producer)
            do {
                return (
                    producer, try admin.describeTopics(topicNames, includeWatermarks: true, timeout: context.timeout)
                )
            } catch let error as KafkaError where error.code == .unknownTopicOrPartition {
                let existing = (try? admin.describeTopics(includeWatermarks: false, timeout: context.timeout)) ?? []
                let missing = topicNames.first { name in !existing.contains { $0.name == name } } ?? topicNames[0]
                throw missingTopicError(missing, context)
            }
        }
        var partitionCounts: [String: Int] = [:]
        var watermarksBefore: [String: [KafkaWatermarks]] = [:]
        for topic in described {
            if let failing = topic.partitions.first(where: { $0.error != nil || $0.watermarks == nil }) {
                throw CommandError(
                    .unavailable,
                    "\(context.commandName): Failed to load into '\(topic.name)': partition \(failing.partition) "
                        + "is not available at '\(context.bootstrapServers)'"
                        + (failing.error.map { ": \($0)" } ?? "")
                )
            }
            partitionCounts[topic.name] = topic.partitions.count
            watermarksBefore[topic.name] = topic.partitions.map { $0.watermarks! }
        }

        // A second producer, on a machine with a second core, compresses in parallel.
        let partitionTotal = partitionCounts.values.reduce(0, +)
        let producerCount = min(maximumProducerCount, partitionTotal, ProcessInfo.processInfo.activeProcessorCount)
        var producers = [producer]
        for _ in 1..<max(producerCount, 1) { producers.append(try context.mappingErrors { try makeProducer() }) }
        let loader = DatasetLoader(plan: plan, producers: producers, logger: context.logger)
        var outcome: DatasetLoader.Outcome
        do {
            outcome = try loader.load(
                rowCount: rowCount,
                partitionCounts: partitionCounts,
                watermarksBefore: watermarksBefore,
                deliveryTimeout: context.timeout + .seconds(5)
            )
        } catch let badRow as DatasetLoader.BadRow {
            var message =
                "\(context.commandName): Failed to load line \(badRow.lineNumber) of \(inputName): \(badRow.reason)"
            if badRow.lineNumber == 1 && !plan.hasHeader { message += " (if line 1 holds column names, pass --header)" }
            message +=
                ". The \(badRow.rowsDelivered) rows before it were written; "
                + "fix the line, or pass --skip-bad to skip such lines."
            throw CommandError(.dataError, message)
        } catch let error as GzipError {
            throw inputError(error, context)
        } catch let failure as LoadDeliveryFailure {
            let noun = failure.failedCount == 1 ? "message was" : "messages were"
            throw CommandError(
                failure.first.isBrokerUnavailable ? .unavailable : .failure,
                "\(context.commandName): Failed to load \(inputName): \(failure.failedCount) \(noun) not "
                    + "delivered to '\(context.bootstrapServers)'; first: \(failure.first)"
            )
        } catch {
            throw context.commandError(error)
        }

        outcome.topics = try context.mappingErrors {
            try outcome.topics.map { topic in
                var checked = topic
                checked.watermarksAfter = try (0..<topic.rowsPerPartition.count).map { partition in
                    try producer.queryWatermarks(
                        topic: topic.name,
                        partition: Int32(partition),
                        timeout: context.timeout
                    )
                }
                return checked
            }
        }
        print(summaryTable(outcome).render(), terminator: "")
        print(summaryLine(outcome, inputName: inputName))
        if !outcome.isSplitExact, plan.testTopic != nil {
            context.logger.notice(
                "The test split is approximate: each row went to the test topic with probability \(plan.testFraction)"
                    + (outcome.rowsRejected > 0
                        ? " and rejected rows changed the total" : "; give --rows N for an exact split")
                    + "."
            )
        }
        try checkWatermarks(outcome, context)
        return .success
    }

    /// Reads and checks the flags that do not involve Kafka.
    static func makePlan(_ arguments: ParsedArguments) throws -> DatasetLoader.Plan {
        guard arguments.positionals.isEmpty else {
            throw arguments.usage("unexpected argument '\(arguments.positionals[0])'")
        }
        let path = try arguments.required("file")
        let trainTopic = try arguments.required("topic")
        let testTopic = arguments.string("test-topic")
        for name in [trainTopic] + (testTopic.map { [$0] } ?? []) {
            if let problem = BrokerCommand.topicNameProblem(name) {
                throw arguments.usage("bad topic name '\(name)': \(problem)")
            }
        }
        if testTopic == trainTopic { throw arguments.usage("--test-topic must differ from --topic") }
        let hasFraction = arguments.string("test-fraction") != nil
        if testTopic != nil && !hasFraction { throw arguments.usage("--test-topic needs --test-fraction F") }
        if testTopic == nil && hasFraction { throw arguments.usage("--test-fraction needs --test-topic T2") }
        let fraction = try arguments.double("test-fraction", default: 0, in: 0...1)
        if hasFraction && (fraction <= 0 || fraction >= 1) {
            throw arguments.usage("option '--test-fraction' must lie strictly between 0 and 1, got '\(fraction)'")
        }
        let rowLimit = arguments.string("rows") == nil ? nil : try arguments.int("rows", default: 0, in: 1...Int.max)
        let featureCount =
            arguments.string("features") == nil ? nil : try arguments.int("features", default: 1, in: 1...100_000)
        return DatasetLoader.Plan(
            path: path,
            trainTopic: trainTopic,
            testTopic: testTopic,
            testFraction: fraction,
            rowLimit: rowLimit,
            seed: UInt64(try arguments.int("seed", default: defaultSeed, in: 0...Int.max)),
            featureCount: featureCount,
            hasHeader: arguments.has("header"),
            skipsBadRows: arguments.has("skip-bad")
        )
    }

    /// Fails when a partition holds fewer of the written rows than were written.
    ///
    /// With `before` and `after` the watermarks around the load and `written` the rows sent to
    /// the partition, the broker kept them all exactly when after.high - before.high == written
    /// and after.low <= before.high. More than written means another producer wrote meanwhile:
    /// that is reported but cannot be checked further.
    static func checkWatermarks(_ outcome: DatasetLoader.Outcome, _ context: KafkaCommandContext) throws {
        var problems: [String] = []
        var missingRows: Int64 = 0
        for topic in outcome.topics {
            for (partition, written) in topic.rowsPerPartition.enumerated() where written > 0 {
                let before = topic.watermarksBefore[partition]
                let after = topic.watermarksAfter[partition]
                let appended = after.high - before.high
                let place = KafkaTopicPartition(topic: topic.name, partition: Int32(partition))
                if appended < Int64(written) {
                    problems.append("\(place) grew by \(appended) records, but \(written) rows were written")
                    missingRows += Int64(written) - max(appended, 0)
                } else if after.low > before.high {
                    let lost = min(after.low - before.high, Int64(written))
                    problems.append(
                        "\(place) dropped \(lost) of the \(written) rows written (low watermark \(after.low), "
                            + "first written offset \(before.high))"
                    )
                    missingRows += lost
                } else if appended > Int64(written) {
                    context.logger.warning(
                        "\(place) grew by \(appended) records, more than the \(written) rows written: "
                            + "another producer wrote to it meanwhile"
                    )
                }
            }
        }
        guard !problems.isEmpty else { return }
        let shown = problems.prefix(3).joined(separator: "; ")
        let more = problems.count > 3 ? "; and \(problems.count - 3) more partitions" : ""
        throw CommandError(
            .failure,
            "\(context.commandName): The broker at '\(context.bootstrapServers)' did not keep every row: "
                + "\(missingRows) of the \(outcome.rowsWritten) rows written are gone: \(shown)\(more). "
                + "The embedded broker keeps only the newest 5 MiB of each partition: use more partitions "
                + "(streamlearn broker --topic NAME:PARTITIONS) or fewer rows (--rows N)."
        )
    }

    /// One line per partition: rows written and the watermarks after the load.
    static func summaryTable(_ outcome: DatasetLoader.Outcome) -> TextTable {
        var table = TextTable(["TOPIC", "PARTITION", "ROWS", "LOW", "HIGH"])
        for topic in outcome.topics {
            for (partition, rows) in topic.rowsPerPartition.enumerated() {
                let after = topic.watermarksAfter[partition]
                table.append([topic.name, String(partition), String(rows), String(after.low), String(after.high)])
            }
        }
        return table
    }

    /// "Read 100000 rows from 'susy.csv' (0 rejected); wrote 60000 to 'susy-train' and ..."
    static func summaryLine(_ outcome: DatasetLoader.Outcome, inputName: String) -> String {
        let written = outcome.topics.map { "\($0.rowsWritten) to '\($0.name)'" }.joined(separator: " and ")
        let seconds = Double(outcome.elapsed.components.seconds) + Double(outcome.elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Int((Double(outcome.rowsWritten) / seconds).rounded()) : 0
        let blank = outcome.blankLines == 0 ? "" : ", \(outcome.blankLines) blank lines skipped"
        return "Read \(outcome.rowsRead) rows from \(inputName) (\(outcome.rowsRejected) rejected\(blank)); wrote "
            + written + String(format: " in %.2f s (%d rows/s).", seconds, rate)
    }

    /// The message and status for a file problem: 74 for I/O, 65 for content.
    private static func inputError(_ error: GzipError, _ context: KafkaCommandContext) -> CommandError {
        switch error {
        case .openFailed, .readFailed, .writeFailed, .zlibFailed:
            return CommandError(.ioError, "\(context.commandName): \(error)")
        case .truncated, .corrupt, .lineTooLong:
            return CommandError(.dataError, "\(context.commandName): \(error)")
        }
    }

    private static func missingTopicError(_ name: String, _ context: KafkaCommandContext) -> CommandError {
        CommandError(
            .failure,
            "\(context.commandName): Failed to load into topic '\(name)': the cluster at "
                + "'\(context.bootstrapServers)' has no such topic. Create it first: "
                + "'streamlearn topics create \(name) --partitions N -b \(context.bootstrapServers)', or, for the "
                + "embedded broker, start it with 'streamlearn broker --topic \(name):N'."
        )
    }
}
