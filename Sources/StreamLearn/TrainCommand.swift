import Foundation
import Kafka
import StreamLearnCore

/// `streamlearn train`: train for epochs from a partition and offset, as the TensorFlow-IO
/// tutorial's `IODataset.from_kafka` and `model.fit` do, and write a checkpoint.
///
/// The range is fixed when the command starts: from `--offset` up to the partition's log-end
/// offset at that moment, so every epoch sees the same records even while producers append.
enum TrainCommand: Command {
    static let defaultEpochs = 10
    static let defaultBatchSize = 64
    static let defaultShuffleBuffer = 64

    static let spec = CommandSpec(
        name: "train",
        summary: "train for epochs from a partition and offset",
        usage: "streamlearn train --topic T [--partition P] [--offset O] [--epochs E] [--batch-size N] "
            + "[--shuffle-buffer N] --out MODEL -b B",
        options: [
            .value("topic", "T", help: "topic to train from (required)"),
            .value("partition", "P", help: "partition to read (default 0)"),
            .value("offset", "O", help: "first offset to read (default 0)"),
            .value("epochs", "E", help: "passes over the records, 1 to 10000 (default \(defaultEpochs))"),
            .value("batch-size", "N", help: "records per optimizer step, 1 to 65536 (default \(defaultBatchSize))"),
            .value(
                "shuffle-buffer",
                "N",
                help: "records held for shuffling, 1 (no shuffling) to 1000000 (default \(defaultShuffleBuffer))"
            ),
            .value("out", "MODEL", help: "checkpoint file to write, or a checkpoint directory to add to (required)"),
            RecordOptions.label,
            .value("features", "N", help: "features per record, 1 to 4096 (default 18)"),
            .value("model-type", "mlp|logistic", help: "the tutorial's MLP (default) or logistic regression"),
            .value("seed", "S", help: "seed of initial weights, dropout and shuffling (default 42)"),
            .flag("cache", help: "keep the decoded records in memory after the first epoch"),
            .bootstrapServer,
            .property,
            .kafkaTimeout,
        ],
        discussion: """
            Reads --partition of --topic from --offset up to the log-end offset seen at the start,
            once per epoch. Records pass through a shuffle buffer of N records (as tf.data's
            shuffle: each record out is drawn at random from the buffer, which is refilled as it
            drains) and are trained in batches: one Adam step per batch, as Keras' model.fit.
            Each epoch prints records, mean loss and accuracy (from each batch's forward pass,
            before its update), seconds and records/s; on a terminal a progress bar runs while
            the epoch does. Memory stays bounded by the shuffle buffer and librdkafka's fetch
            queue (2 MiB unless -X queued.max.messages.kbytes says otherwise) whatever the
            topic's size; --cache trades that for not reading Kafka again after epoch 1.

            The message value is a CSV line of features and the key the label ("0" or "1"), as
            in the tutorial; --label column:N reads the label from field N of the value. Records
            that cannot be decoded are counted and skipped; the first few are reported on
            stderr with partition and offset.

            The checkpoint holds the model, its optimizer and standardiser, and the offset after
            the range as the partition's next offset, so that 'streamlearn run' started from it
            continues with the records that arrived since; 'predict', 'inspect' and 'evaluate'
            read it. A file is replaced atomically; in a directory the checkpoint is added as
            its newest file.

            Exit status: 0 success, 64 usage, 65 nothing to train on, 69 broker unavailable,
            74 checkpoint not written.

            Example (the tutorial's training step):
              streamlearn train --topic susy-train --partition 0 --offset 0 --epochs 10 \\
                --batch-size 64 --shuffle-buffer 64 --out susy.slck -b 127.0.0.1:9092
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        MallocArenas.limitForCommand()
        if let extra = arguments.positionals.first { throw arguments.usage("unexpected argument '\(extra)'") }
        let topic = try arguments.required("topic")
        let partition = Int32(try arguments.int("partition", default: 0, in: 0...Int(Int32.max)))
        let startOffset = Int64(try arguments.int("offset", default: 0, in: 0...Int(Int64.max / 2)))
        let epochCount = try arguments.int("epochs", default: defaultEpochs, in: 1...10_000)
        let batchSize = try arguments.int("batch-size", default: defaultBatchSize, in: 1...65_536)
        let shuffleCapacity = try arguments.int("shuffle-buffer", default: defaultShuffleBuffer, in: 1...1_000_000)
        let outPath = try arguments.required("out")
        let featureCount = try arguments.int("features", default: 18, in: 1...4096)
        let label = try RecordOptions.labelSource(arguments, featureCount: featureCount)
        let seed = try arguments.int("seed", default: 42, in: 0...Int.max)
        var modelConfiguration = try modelConfiguration(arguments, featureCount: featureCount)
        modelConfiguration.seed = UInt64(seed)
        let context = try KafkaCommandContext(arguments)
        try checkOutputPath(outPath, arguments)

        let configuration = TutorialKafkaDefaults.applying(TutorialKafkaDefaults.shared, to: context.configuration)
        let endOffset = try context.mappingErrors {
            try logEndOffset(topic: topic, partition: partition, from: startOffset, context: context)
        }

        let model = Model(configuration: modelConfiguration)
        let output = StandardOutput.self
        output.line(
            "training \(model.configurationShape) (\(model.parameterCount) parameters) on '\(topic)'[\(partition)], "
                + "offsets \(startOffset) to \(endOffset) (\(endOffset - startOffset) records): "
                + "\(epochCount) epochs, batch \(batchSize), shuffle buffer \(shuffleCapacity)"
                + (arguments.has("cache") ? ", cached after epoch 1" : "")
        )
        let training = PartitionTraining(
            source: PartitionTraining.Source(
                configuration: configuration,
                topic: topic,
                partition: partition,
                startOffset: startOffset,
                endOffset: endOffset,
                stallTimeout: context.timeout,
                prefetchBytes: TutorialKafkaDefaults.prefetchBytes(configuration),
                logHandler: context.logHandler
            ),
            decoder: RecordDecoder(featureCount: featureCount, label: label),
            trainer: MiniBatchTrainer(model: model, batchSize: batchSize),
            // Its own stream of draws, so that the model's dropout and shuffling stay independent.
            shuffleBuffer: ShuffleBuffer(
                capacity: shuffleCapacity,
                featureCount: featureCount,
                generator: RandomGenerator(seed: UInt64(seed) &+ 0x5348_5546)
            ),
            undecodable: UndecodableRecords(logger: context.logger),
            reporter: EpochReporter(epochCount: epochCount, isTerminal: StandardOutput.isTerminal, write: output.write),
            isCaching: arguments.has("cache")
        )

        var totalRecords = 0
        var totalSeconds = 0.0
        var skipped = 0
        var distinctRecords = 0
        for epoch in 1...epochCount {
            let result = try context.mappingErrors { try training.runEpoch(epoch) }
            totalRecords += result.records
            totalSeconds += result.seconds
            skipped = result.skipped
            distinctRecords = result.records
        }
        guard model.recordsTrained > 0 else {
            throw CommandError(
                .dataError,
                "streamlearn train: Failed to train on '\(topic)'[\(partition)]: none of its "
                    + "\(endOffset - startOffset) records could be decoded; no checkpoint written"
            )
        }

        let checkpoint = Checkpoint(
            sequence: 1,
            model: model.state,
            offsets: [TopicPartition(topic: topic, partition: partition): endOffset],
            metadata: [
                Checkpoint.MetadataKey.createdAt: Self.timestamp(),
                Checkpoint.MetadataKey.writerVersion: streamLearnVersion,
                "source": "streamlearn train",
                // The daemon's counts of distinct records, which it carries on from here.
                TrainingLoop.recordsTrainedKey: String(distinctRecords),
                TrainingLoop.badRecordsKey: String(skipped),
            ]
        )
        let written: String
        do {
            written = try ModelFile.write(checkpoint, to: outPath)
        } catch {
            throw CommandError(.ioError, "streamlearn train: \(error)")
        }
        let rate = EpochReporter.rate(totalRecords, totalSeconds)
        var summary =
            "trained \(totalRecords) records in \(EpochReporter.fixed(totalSeconds, 2)) s (\(rate) records/s); "
            + "wrote \(written): step \(model.step), next offset \(endOffset) of '\(topic)'[\(partition)]"
        if skipped > 0 { summary += "; \(skipped) undecodable records skipped per epoch" }
        output.line(summary)
        return .success
    }

    /// The partition's log-end offset, after checking that it exists and that records from
    /// `startOffset` are still there and there are some.
    private static func logEndOffset(
        topic: String,
        partition: Int32,
        from startOffset: Int64,
        context: KafkaCommandContext
    ) throws -> Int64 {
        let admin = try KafkaAdmin(
            configuration: context.configuration,
            logHandler: TutorialKafkaDefaults.adminLogHandler(context.logHandler)
        )
        let missing = CommandError(
            .dataError,
            "streamlearn train: Failed to find topic '\(topic)' at '\(context.bootstrapServers)'"
        )
        let description: KafkaTopicDescription
        do {
            guard let found = try admin.describeTopics([topic], timeout: context.timeout).first else {
                throw missing
            }
            description = found
        } catch let error as KafkaError where error.code == .unknownTopicOrPartition {
            throw missing
        }
        guard let found = description.partitions.first(where: { $0.partition == partition }) else {
            throw CommandError(
                .usage,
                "streamlearn train: topic '\(topic)' has partitions 0 to \(description.partitions.count - 1), "
                    + "not \(partition); see 'streamlearn train --help'"
            )
        }
        if let error = found.error { throw error }
        guard let watermarks = found.watermarks else {
            throw CommandError(.failure, "streamlearn train: no watermarks for '\(topic)'[\(partition)]")
        }
        guard startOffset >= watermarks.low else {
            throw CommandError(
                .dataError,
                "streamlearn train: Failed to read '\(topic)'[\(partition)] from offset \(startOffset): "
                    + "the broker keeps only offsets \(watermarks.low) to \(watermarks.high) (older records "
                    + "were deleted); use --offset \(watermarks.low) or later"
            )
        }
        guard startOffset < watermarks.high else {
            throw CommandError(
                .dataError,
                "streamlearn train: no records to train on: '\(topic)'[\(partition)] ends at offset "
                    + "\(watermarks.high), and --offset is \(startOffset)"
            )
        }
        return watermarks.high
    }

    private static func modelConfiguration(
        _ arguments: ParsedArguments,
        featureCount: Int
    ) throws -> ModelConfiguration {
        switch arguments.string("model-type") ?? "mlp" {
        case "mlp":
            var configuration = ModelConfiguration.tutorial
            configuration.inputCount = featureCount
            return configuration
        case "logistic":
            return .logistic(inputCount: featureCount)
        case let other:
            throw arguments.usage("option '--model-type' must be mlp or logistic, got '\(other)'")
        }
    }

    /// Refuses, before any training, an output whose directory does not exist.
    private static func checkOutputPath(_ path: String, _ arguments: ParsedArguments) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw CommandError(
                .ioError,
                "streamlearn train: Failed to write checkpoint '\(path)': directory '\(directory)' does not exist"
            )
        }
    }

    /// Now, RFC 3339 in UTC ("2026-12-03T19:30:00Z").
    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }
}
