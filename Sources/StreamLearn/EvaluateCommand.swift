import Foundation
import Kafka
import StreamLearnCore

/// `streamlearn evaluate`: score a topic as a consumer group and report loss, accuracy and AUC
/// per partition and overall, as the tutorial's `KafkaGroupIODataset` and `model.evaluate` do.
///
/// Offsets are committed after each scored batch, so the group's next run evaluates only what
/// arrived since, and a killed run's successor scores exactly what was not yet committed.
enum EvaluateCommand: Command {
    static let defaultBatchSize = 1024

    static let spec = CommandSpec(
        name: "evaluate",
        summary: "evaluate a model as a consumer group",
        usage: "streamlearn evaluate --model MODEL --topic T --group G [--stream-timeout DURATION] -b B [-X KEY=VALUE]",
        options: [
            .value(
                "model",
                "MODEL",
                help: "checkpoint file, or checkpoint directory (its newest valid file) (required)"
            ),
            .value("topic", "T", help: "topic to evaluate, every partition (required)"),
            .value("group", "G", help: "consumer group; its committed offsets say where to start (required)"),
            .value(
                "stream-timeout",
                "DURATION",
                help: "wait this long for new records after the last one: 0 stops at the end (default), "
                    + "-1 waits until Ctrl-C, or e.g. 10s"
            ),
            RecordOptions.label,
            .value(
                "batch-size",
                "N",
                help: "records per poll, scoring batch and commit, 1 to 65536 (default \(defaultBatchSize))"
            ),
            .bootstrapServer,
            .property,
            .kafkaTimeout,
        ],
        discussion: """
            Joins group G, consumes every partition of T from the group's committed offsets (or
            from the oldest record for a new group, as auto.offset.reset=earliest), scores the
            records in batches and commits each batch's offsets after it is scored. Prints, per
            partition and overall: records scored, undecodable records skipped, mean log loss,
            accuracy, ROC AUC, and the offsets evaluated; then the time spent joining the group
            and reading. A second run of the same group evaluates only records that arrived
            since and says "no new records for group G" when there are none.

            --stream-timeout 0 stops once every partition has reached its end; a duration keeps
            waiting until no record has come for that long (the tutorial's stream_timeout,
            10000 ms there, is 10s here); -1 waits for ever. SIGINT (Ctrl-C) or SIGTERM stop
            the run at any time: what was scored is committed and the totals are printed.

            Records are decoded as for 'train' (the key is the label unless --label column:N);
            undecodable ones are counted, the first few reported on stderr with partition and
            offset, and committed without being scored.

            The session is 6 s unless -X session.timeout.ms says otherwise (the tutorial uses
            7 s), so that the member of a killed run is dropped within seconds. A join waits for
            the coordinator: about 3 s for a group's first join on 'streamlearn broker', about
            a session for later ones; --timeout plus one session bounds that wait.

            Exit status: 0 success, 64 usage, 65 damaged model or missing topic, 69 broker
            unavailable or no partitions assigned, 74 model unreadable.

            Example (the tutorial's evaluation step):
              streamlearn evaluate --model susy.slck --topic susy-test --group testcg -b 127.0.0.1:9092
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        MallocArenas.limitForCommand()
        if let extra = arguments.positionals.first { throw arguments.usage("unexpected argument '\(extra)'") }
        let modelPath = try arguments.required("model")
        let topic = try arguments.required("topic")
        let group = try arguments.required("group")
        guard !group.isEmpty else { throw arguments.usage("option '--group' needs a group name") }
        let streamTimeoutText = arguments.string("stream-timeout") ?? "0"
        guard let streamTimeout = StreamTimeout(parsing: streamTimeoutText) else {
            throw arguments.usage(
                "option '--stream-timeout' must be 0, -1 or a duration with a unit such as 500ms or 10s, "
                    + "got '\(streamTimeoutText)'"
            )
        }
        let batchSize = try arguments.int("batch-size", default: defaultBatchSize, in: 1...65_536)
        let context = try KafkaCommandContext(arguments)
        if let groupProperty = context.configuration["group.id"], groupProperty != group {
            throw arguments.usage("-X group.id=\(groupProperty) contradicts --group \(group); give the group once")
        }

        let loaded: ModelFile.Loaded
        let model: Model
        do {
            loaded = try ModelFile.load(modelPath) { context.logger.warning($0) }
            model = try Model(state: loaded.checkpoint.model)
        } catch let error as CheckpointError {
            throw CommandError(error.exitCode, "streamlearn evaluate: \(error)")
        } catch {
            throw CommandError(.dataError, "streamlearn evaluate: Failed to load model from '\(modelPath)': \(error)")
        }
        let label = try RecordOptions.labelSource(arguments, featureCount: model.inputCount)

        var configuration = TutorialKafkaDefaults.applying(TutorialKafkaDefaults.shared, to: context.configuration)
        configuration = TutorialKafkaDefaults.applying(TutorialKafkaDefaults.evaluate, to: configuration)
        configuration["group.id"] = group

        let partitionCount = try context.mappingErrors { try countPartitions(of: topic, context: context) }
        let output = StandardOutput.self
        output.line(
            "evaluating \(model.configurationShape) (step \(model.step)) from '\(loaded.path)' on '\(topic)' "
                + "(\(partitionCount) partitions) as group \(group)"
        )

        // Ctrl-C and SIGTERM end the loop at its next poll; what was scored is committed already.
        let stopRequest = StopRequest()
        let signals = ShutdownSignals()
        defer { signals.cancel() }
        Thread.detachNewThread {
            stopRequest.request(signal: signals.wait())
        }

        let outcome = try context.mappingErrors {
            let consumer = try KafkaConsumer(configuration: configuration, logHandler: context.logHandler)
            defer { try? consumer.close() }
            let evaluation = GroupEvaluation(
                consumer: consumer,
                model: model,
                decoder: RecordDecoder(featureCount: model.inputCount, label: label),
                settings: GroupEvaluation.Settings(
                    topic: topic,
                    partitionCount: partitionCount,
                    streamTimeout: streamTimeout,
                    batchSize: batchSize,
                    joinTimeout: TutorialKafkaDefaults.joinTimeout(configuration, brokerTimeout: context.timeout),
                    prefetchBytes: TutorialKafkaDefaults.prefetchBytes(configuration)
                ),
                undecodable: UndecodableRecords(logger: context.logger),
                stopRequest: stopRequest,
                logger: context.logger
            )
            let outcome = try evaluation.run()
            try consumer.close()
            return outcome
        }
        output.write(report(outcome, group: group, topic: topic, stopSignal: stopRequest.signal))
        return .success
    }

    /// The text printed at the end: the table, or the "no new records" line, and the timings.
    static func report(
        _ outcome: GroupEvaluation.Outcome,
        group: String,
        topic: String,
        stopSignal: Int32
    ) -> String {
        var text = ""
        if outcome.wasStopped {
            text += "stopped by \(ShutdownSignals.name(of: stopSignal)); every scored batch is committed\n"
        }
        let totals = outcome.totals
        let total = EpochReporter.seconds(outcome.totalDuration)
        guard totals.recordCount + totals.skippedCount > 0 else {
            return text + "no new records for group \(group) on '\(topic)' (\(EpochReporter.fixed(total, 2)) s)\n"
        }
        text += totals.table().render()
        let reading = EpochReporter.seconds(outcome.readingDuration)
        let join = outcome.joinDuration.map { EpochReporter.seconds($0) } ?? 0
        let evaluated = totals.recordCount + totals.skippedCount
        text +=
            "\(totals.recordCount) records in \(EpochReporter.fixed(total, 2)) s: "
            + "\(EpochReporter.fixed(reading, 2)) s reading and scoring "
            + "(\(EpochReporter.rate(evaluated, reading)) records/s), "
            + "\(EpochReporter.fixed(join, 2)) s joining group \(group) "
            + "(\(EpochReporter.rate(evaluated, total)) records/s overall)\n"
        return text
    }

    /// The topic's partition count; a missing topic is a data error (exit 65) naming it.
    private static func countPartitions(of topic: String, context: KafkaCommandContext) throws -> Int {
        let admin = try KafkaAdmin(
            configuration: context.configuration,
            logHandler: TutorialKafkaDefaults.adminLogHandler(context.logHandler)
        )
        let missing = CommandError(
            .dataError,
            "streamlearn evaluate: Failed to find topic '\(topic)' at '\(context.bootstrapServers)'"
        )
        do {
            let topics = try admin.describeTopics([topic], includeWatermarks: false, timeout: context.timeout)
            guard let found = topics.first, !found.partitions.isEmpty else { throw missing }
            return found.partitions.count
        } catch let error as KafkaError where error.code == .unknownTopicOrPartition {
            throw missing
        }
    }
}
