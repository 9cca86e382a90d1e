import Kafka
import StreamLearnCore

/// The epochs of `streamlearn train`: each reads one partition from a start offset up to a fixed
/// end offset, passes the decoded records through a shuffle buffer and trains on them in
/// mini-batches, as the tutorial's `IODataset.from_kafka(...).shuffle(...).batch(...)` feeding
/// `model.fit(epochs=...)` does.
///
/// Every epoch without `isCaching` opens a fresh partition reader (librdkafka's fetch queue,
/// bounded by `queued.max.messages.kbytes`) and reads the range again, so memory does not grow
/// with the topic. With `isCaching`, the first epoch keeps the decoded rows (19 Floats per
/// record) and later epochs read them instead of Kafka. Undecodable records are counted and
/// the first few reported with partition and offset; they never reach the model.
///
/// The hot path (read, decode into the shuffle buffer's spare slot, copy into the batch, train)
/// allocates nothing per record. Not thread-safe: one owner, the command's thread.
final class PartitionTraining {
    /// What to read: a partition and the offset range [startOffset, endOffset).
    struct Source {
        var configuration: KafkaConfiguration
        var topic: String
        var partition: Int32
        var startOffset: Int64
        var endOffset: Int64
        /// The longest wait for a record while the range is unfinished before giving up.
        var stallTimeout: Duration
        /// librdkafka's prefetch bound (payload bytes), from `queued.max.messages.kbytes`.
        var prefetchBytes: Int
        var logHandler: KafkaLogHandler?
    }

    /// What one epoch did.
    struct EpochResult {
        var records: Int
        var meanLoss: Double
        var accuracy: Double
        var skipped: Int
        var seconds: Double
    }

    /// Messages taken from librdkafka per read.
    static let readBatchCapacity = 1024

    /// How long a read waits before the reader counts as starved.
    static let starvationTimeout: Duration = .milliseconds(5)

    /// The least time between two restarts of fetching unless the records taken since the last
    /// one could have filled librdkafka's queue (`TutorialKafkaDefaults.mayHaveStalled`): a
    /// broker that is merely slow is not hammered with connections.
    static let reopenInterval: Duration = .milliseconds(250)

    /// Readers reopened because librdkafka stopped fetching (see `trainFromKafka`).
    private(set) var reopenCount = 0

    private let source: Source
    private let decoder: RecordDecoder
    private let trainer: MiniBatchTrainer
    private let shuffleBuffer: ShuffleBuffer
    private let undecodable: UndecodableRecords
    private let reporter: EpochReporter
    private let messages = KafkaMessageBatch(capacity: readBatchCapacity)
    private let isCaching: Bool
    private var cachedRows: [Float] = []
    private var cachedLabels: [Float] = []
    private var isCacheFilled = false

    init(
        source: Source,
        decoder: RecordDecoder,
        trainer: MiniBatchTrainer,
        shuffleBuffer: ShuffleBuffer,
        undecodable: UndecodableRecords,
        reporter: EpochReporter,
        isCaching: Bool
    ) {
        self.source = source
        self.decoder = decoder
        self.trainer = trainer
        self.shuffleBuffer = shuffleBuffer
        self.undecodable = undecodable
        self.reporter = reporter
        self.isCaching = isCaching
    }

    /// Runs epoch `epoch` (from 1) and prints its line through the reporter.
    ///
    /// Throws `KafkaError` from the reader, `CommandError` (exit 69) when no record arrives
    /// for `stallTimeout` before the end offset, and the model's error (which decoding rules
    /// out) from training.
    func runEpoch(_ epoch: Int) throws -> EpochResult {
        let expected = Int(source.endOffset - source.startOffset)
        reporter.beginEpoch(epoch, expectedRecords: expected)
        trainer.resetTotals()
        undecodable.resetCounts()
        if isCacheFilled {
            try trainFromCache()
        } else {
            try trainFromKafka()
            isCacheFilled = isCaching
        }
        try shuffleBuffer.drain { features, label in try trainer.add(features: features, label: label) }
        try trainer.flush()
        // Later epochs meet the same bad records again; the first epoch showed them.
        undecodable.isReporting = false
        let seconds = reporter.endEpoch(
            records: trainer.recordCount,
            loss: trainer.meanLoss,
            accuracy: trainer.accuracy,
            skipped: undecodable.count
        )
        return EpochResult(
            records: trainer.recordCount,
            meanLoss: trainer.meanLoss,
            accuracy: trainer.accuracy,
            skipped: undecodable.count,
            seconds: seconds
        )
    }

    private func trainFromKafka() throws {
        var reader = try openReader(at: source.startOffset)
        defer { messages.release() }
        let clock = ContinuousClock()
        var lastProgress = clock.now
        var lastStarted = clock.now
        var bytesSinceStart = 0
        while !reader.isFinished {
            try reader.read(into: messages, timeout: Self.starvationTimeout)
            guard !messages.isEmpty else {
                let now = clock.now
                if now - lastProgress > source.stallTimeout {
                    throw stalled(at: reader.nextOffset ?? source.startOffset)
                }
                // librdkafka 2.0.2 stops fetching a partition whose queue reached
                // queued.max.messages.kbytes and looks again only when its broker thread next
                // wakes, up to a second later (confluentinc/librdkafka#2879; later releases add
                // fetch.queue.backoff.ms). Once the queue has run dry, a fresh reader from the
                // next offset fetches at once: about 53,000 instead of 44,000 records/s under
                // the same load here, at 48 instead of the 62 MiB that a queue holding the whole
                // partition takes. See `reopenInterval` for how often, so that a slow broker
                // is not hammered with connections.
                let mayHaveStalled = TutorialKafkaDefaults.mayHaveStalled(
                    afterTaking: bytesSinceStart,
                    bound: source.prefetchBytes
                )
                if mayHaveStalled || now - lastStarted >= Self.reopenInterval,
                    let next = reader.nextOffset
                {
                    messages.release()
                    reader = try openReader(at: next)
                    lastStarted = now
                    bytesSinceStart = 0
                    reopenCount += 1
                }
                continue
            }
            lastProgress = clock.now
            for message in messages {
                bytesSinceStart &+= (message.value?.count ?? 0) &+ (message.key?.count ?? 0)
                try add(message)
            }
            reporter.progress(records: trainer.recordCount, loss: trainer.meanLoss, accuracy: trainer.accuracy)
        }
    }

    private func openReader(at offset: Int64) throws -> KafkaPartitionReader {
        try KafkaPartitionReader(
            configuration: source.configuration,
            topic: source.topic,
            partition: source.partition,
            startOffset: offset,
            endOffset: source.endOffset,
            logHandler: source.logHandler
        )
    }

    /// Decodes one message into the shuffle buffer's spare slot and inserts it, which may hand
    /// an earlier record to the trainer.
    @inline(__always)
    private func add(_ message: KafkaMessage) throws {
        let row = shuffleBuffer.nextRow
        let label: Float
        do {
            label = try decoder.decode(key: message.key, value: message.value, into: row) ?? 0
        } catch {
            undecodable.record(
                error,
                topic: source.topic,
                partition: message.partition,
                offset: message.offset,
                key: message.key,
                value: message.value
            )
            return
        }
        if isCaching {
            cachedRows.append(contentsOf: row)
            cachedLabels.append(label)
        }
        try shuffleBuffer.insert(label: label) { features, label in
            try trainer.add(features: features, label: label)
        }
    }

    private func trainFromCache() throws {
        let featureCount = decoder.featureCount
        try cachedRows.withUnsafeBufferPointer { rows in
            for index in cachedLabels.indices {
                let start = index * featureCount
                let row = shuffleBuffer.nextRow
                row.baseAddress!.update(from: rows.baseAddress! + start, count: featureCount)
                try shuffleBuffer.insert(label: cachedLabels[index]) { features, label in
                    try trainer.add(features: features, label: label)
                }
                if index & 4095 == 4095 {
                    reporter.progress(records: trainer.recordCount, loss: trainer.meanLoss, accuracy: trainer.accuracy)
                }
            }
        }
    }

    private func stalled(at offset: Int64) -> CommandError {
        CommandError(
            .unavailable,
            "streamlearn train: Failed to read '\(source.topic)'[\(source.partition)] at offset \(offset): "
                + "no record arrived within \(KafkaCommandContext.describe(source.stallTimeout)), "
                + "\(source.endOffset - offset) records before offset \(source.endOffset) remain"
        )
    }
}
