import Kafka
import StreamLearnCore
import Synchronization

/// The inference loop of `run`: consumes the inference topics as group inference.group_id,
/// scores each poll with the scorer's current model, writes one prediction per decodable record
/// to the predictions topic, dead-letters the rest, and commits input offsets only once the
/// batch's predictions are delivered.
///
/// Delivery "exactly-once" (docs/predictions.md): each prediction goes, through an idempotent
/// producer with `enable.gapless.guarantee`, to the predictions partition that
/// `PredictionPartitioner` derives from its input partition, with its source in headers. On
/// assignment the loop asks `PredictionResumeScan` for the last input offset already predicted
/// per partition and starts after it, so predictions delivered by a predecessor that died
/// before committing are not written twice. A failed delivery rewinds the batch's partitions to
/// the same scan's answer. Delivery "at-least-once" commits after delivery too, but starts from
/// the committed offsets and rewinds a failed batch to its start.
///
/// Use: `start()`, then `step()` in a loop on one thread (the inference thread), `stop()` from
/// any thread to interrupt a wait for deliveries, and `close()` on the loop's thread at the
/// end. Scoring never changes the model: the scorer only reads its own copy.
///
/// Threads: `start`, `step` and `close` run on one thread at a time (calling them from two at
/// once traps); `stop`, `metrics` and `assignment` may be called from any thread. All mutable
/// state lives in `LoopState`, touched only inside `exclusively`, which is why the class is
/// `@unchecked Sendable`.
public final class InferenceService: @unchecked Sendable {
    /// What one `step` did.
    public struct StepSummary: Sendable, Equatable {
        /// Records polled from the inference topics, bad ones and ones already predicted
        /// included (not those held back until their partition's resume scan succeeds).
        public var records = 0
        /// Predictions delivered.
        public var predictions = 0
        /// Records that could not be decoded.
        public var badRecords = 0
        /// Records skipped because their prediction was already on the predictions topic.
        public var alreadyPredicted = 0
        /// True when a delivery failed and the batch's partitions were rewound.
        public var isRewound = false
        /// True when the offsets of this and earlier batches are committed.
        public var isCommitted = false

        public init() {}
    }

    public let settings: InferenceSettings
    /// Counts and labelled-record accuracy, loss and AUC, for the metrics message.
    public let metrics = InferenceMetrics()

    private let scorer: any InferenceScorer
    private let deadLetters: DeadLetterPublisher
    private let logger: Logger
    private let kafkaLogHandler: KafkaLogHandler?
    private let consumer: KafkaConsumer
    private let isBusy = Atomic(false)
    private let isStopRequested = Atomic(false)
    private let state: LoopState

    /// Creates the consumer and the predictions producer; nothing connects before `start`.
    ///
    /// `deadLetters` takes the undecodable records (it may be shared with training).
    /// Throws `KafkaError` when librdkafka refuses the configuration.
    public init(
        settings: InferenceSettings,
        scorer: any InferenceScorer,
        deadLetters: DeadLetterPublisher,
        logger: Logger,
        kafkaLogHandler: KafkaLogHandler? = nil
    ) throws {
        var consumerConfiguration = settings.kafka.consumerProperties
        consumerConfiguration["group.id"] = settings.groupID
        consumer = try KafkaConsumer(configuration: consumerConfiguration, logHandler: kafkaLogHandler)
        self.settings = settings
        self.scorer = scorer
        self.deadLetters = deadLetters
        self.logger = logger
        self.kafkaLogHandler = kafkaLogHandler
        state = LoopState(
            decoder: InferenceRecordDecoder(settings.decoder),
            capacity: settings.pollMaxRecords,
            producer: try Self.makeProducer(settings: settings, logHandler: kafkaLogHandler),
            prefetchMonitor: KafkaPrefetchMonitor(configuration: consumerConfiguration)
        )
    }

    /// Reads the predictions topic's partition count and subscribes to the inference topics.
    ///
    /// Throws `InferenceError.missingPredictionsTopic` when the topic does not exist and a
    /// `KafkaError` when no broker answers within `settings.requestTimeout`.
    public func start() throws {
        try exclusively {
            let admin = KafkaAdmin(sharing: state.producer)
            let topic = settings.predictionsTopic
            let description: KafkaTopicDescription
            do {
                guard
                    let found = try admin.describeTopics(
                        [topic],
                        includeWatermarks: false,
                        timeout: settings.requestTimeout
                    ).first, !found.partitions.isEmpty
                else {
                    throw InferenceError.missingPredictionsTopic(topic)
                }
                description = found
            } catch let error as KafkaError where error.code == .unknownTopicOrPartition {
                throw InferenceError.missingPredictionsTopic(topic)
            }
            let partitioner = PredictionPartitioner(partitionCount: Int32(description.partitions.count))
            state.partitioner = partitioner
            state.scan = PredictionResumeScan(
                configuration: settings.kafka,
                predictionsTopic: topic,
                partitioner: partitioner,
                initialWindow: settings.scanInitialWindow,
                maximumRecords: settings.scanMaximumRecords,
                timeout: settings.requestTimeout
            )
            try consumer.subscribe(to: settings.topics)
            logger.notice(
                "Started inference",
                [
                    "topics": settings.topics.joined(separator: ","),
                    "group": settings.groupID,
                    "predictions": topic,
                    "predictions_partitions": String(partitioner.partitionCount),
                    "delivery": settings.delivery.rawValue,
                ]
            )
        }
    }

    /// Polls once, scores and publishes the batch, waits for its delivery, and commits.
    ///
    /// Waits up to `settings.pollTimeout` for records. Broker trouble does not make it throw:
    /// failed commits are retried after the next batch, failed deliveries rewind the batch.
    /// Throws `InferenceError.stopped` after `stop()` (a batch whose deliveries it interrupted
    /// stays uncommitted), and a fatal `KafkaError` when the consumer can no longer work.
    @discardableResult
    public func step() throws -> StepSummary {
        try exclusively {
            guard state.partitioner != nil else {
                preconditionFailure("InferenceService.step called before start")
            }
            guard !isStopRequested.load(ordering: .relaxed) else { throw InferenceError.stopped }
            try resolvePendingScans()
            try consumer.poll(
                into: state.batch,
                maxMessages: settings.pollMaxRecords,
                timeout: settings.pollTimeout,
                onRebalance: { [self] event in try handleRebalance(event) }
            )
            for error in state.batch.errors {
                logRateLimited("Failed to fetch inference records: \(error), retrying")
            }
            state.prefetchMonitor.didPoll(state.batch, consumer: consumer)
            var summary = StepSummary()
            if !state.batch.isEmpty {
                summary = try process(state.batch)
            }
            summary.isCommitted = commitPending()
            return summary
        }
    }

    /// Makes a `step` that waits for deliveries give up with `InferenceError.stopped`, and every
    /// later `step` throw it at once; callable from any thread (a signal handler's queue). Call
    /// `close` afterwards.
    public func stop() {
        isStopRequested.store(true, ordering: .relaxed)
    }

    /// Waits up to `timeout` for outstanding predictions, commits what is delivered, and leaves
    /// the group. Throws the first failure after doing all of it.
    public func close(timeout: Duration = .seconds(30)) throws {
        try exclusively {
            guard !state.isAbandoned else { return }
            var firstError: (any Error)?
            do { try state.producer.flush(timeout: timeout) } catch { firstError = error }
            _ = commitPending()
            do {
                try consumer.close(onRebalance: { [self] event in try handleRebalance(event) })
            } catch {
                firstError = firstError ?? error
            }
            if let firstError { throw firstError }
        }
    }

    /// The input partitions currently assigned to this loop.
    public func assignment() throws -> [KafkaTopicPartition] {
        try consumer.assignment()
    }

    // MARK: - Test hooks

    /// Where a simulated crash stops the loop.
    enum CrashPoint: Sendable {
        /// After the batch's predictions were handed to the producer, before waiting for them.
        case afterSend
        /// After the batch's predictions were delivered, before its offsets are committed.
        case afterDelivery
    }

    /// Makes the `batches`-th batch from now (1: the next one) stop at `point` as a crash
    /// would: the consumer leaves the group without committing, the producer is not flushed,
    /// and `step` throws `InferenceError.simulatedCrash`. Release the service afterwards.
    func simulateCrash(afterBatches batches: Int, at point: CrashPoint) {
        exclusively { state.crash = (batches, point) }
    }

    // MARK: - The batch

    private func process(_ batch: KafkaMessageBatch) throws -> StepSummary {
        var summary = StepSummary()
        let decoder = state.decoder
        let featureCount = decoder.featureCount
        var rows = 0
        var labelledRows = 0
        state.batchStart.removeAll(keepingCapacity: true)
        state.batchNext.removeAll(keepingCapacity: true)

        for index in batch.indices {
            let message = batch[index]
            let source = message.topicPartition
            if state.pendingScan.contains(source) {
                // Held back until its scan succeeds; it will be read again from there.
                let known = state.discardedStart[source] ?? .max
                state.discardedStart[source] = min(known, message.offset)
                continue
            }
            summary.records += 1
            if let floor = state.resumeFloor[source], message.offset < floor {
                summary.alreadyPredicted += 1
                continue
            }
            if state.batchStart[source] == nil { state.batchStart[source] = message.offset }
            state.batchNext[source] = message.offset + 1
            let row = UnsafeMutableBufferPointer(
                start: state.features + rows * featureCount,
                count: featureCount
            )
            do {
                let label = try decoder.decode(key: message.key, value: message.value, into: row)
                state.rowMessages[rows] = index
                state.rowLabels[rows] = label ?? .nan
                rows += 1
            } catch {
                summary.badRecords += 1
                deadLetters.handle(error, message: message)
            }
        }

        var isDelivered = true
        if rows > 0 {
            let version = scorer.scoreLogits(
                features: UnsafeBufferPointer(start: state.features, count: rows * featureCount),
                into: UnsafeMutableBufferPointer(start: state.logits, count: rows)
            )
            let failedBefore = state.producer.failedDeliveryCount
            let sendError = send(rows: rows, of: batch, version: version)
            try crashIfDue(at: .afterSend)
            try awaitDeliveries()
            let failed = state.producer.failedDeliveryCount - failedBefore
            if let sendError {
                logger.warning("Failed to send predictions: \(sendError), rewinding the batch")
                isDelivered = false
            } else if failed > 0 {
                let reason = state.producer.firstDeliveryError.map { ": \($0)" } ?? ""
                logger.warning("Failed to deliver \(failed) predictions\(reason), rewinding the batch")
                isDelivered = false
            }
            if isDelivered {
                summary.predictions = rows
                for row in 0..<rows where !state.rowLabels[row].isNaN {
                    state.labelledLogits[labelledRows] = state.logits[row]
                    state.labelledLabels[labelledRows] = state.rowLabels[row]
                    labelledRows += 1
                }
            }
        }
        if rows == 0 {
            try awaitDeliveries()
        }
        guard isDelivered else {
            try rewind()
            summary.isRewound = true
            return summary
        }
        try crashIfDue(at: .afterDelivery)
        for (partition, next) in state.batchNext { state.pendingCommit[partition] = next }
        metrics.add(
            records: summary.records,
            predictions: summary.predictions,
            badRecords: summary.badRecords,
            alreadyPredicted: summary.alreadyPredicted,
            logits: UnsafeBufferPointer(start: state.labelledLogits, count: labelledRows),
            labels: UnsafeBufferPointer(start: state.labelledLabels, count: labelledRows)
        )
        return summary
    }

    /// Hands the batch's predictions to the producer; returns the error that stopped it early.
    private func send(rows: Int, of batch: KafkaMessageBatch, version: ModelVersion) -> (any Error)? {
        guard let partitioner = state.partitioner else { return nil }
        let predictionsTopic = settings.predictionsTopic
        for row in 0..<rows {
            let message = batch[state.rowMessages[row]]
            let label = state.rowLabels[row]
            let topic = message.topic
            state.writer.write(
                topic: topic,
                partition: message.partition,
                offset: message.offset,
                score: probability(ofLogit: state.logits[row]),
                label: label.isNaN ? nil : label,
                version: version
            )
            let headers = [
                state.topicHeader(topic),
                KafkaHeader(name: RecordHeaderName.sourcePartition, text: String(message.partition)),
                KafkaHeader(name: RecordHeaderName.sourceOffset, text: String(message.offset)),
            ]
            do {
                try state.writer.bytes.withUnsafeBytes { value in
                    try state.producer.send(
                        topic: predictionsTopic,
                        partition: partitioner.predictionPartition(forInput: message.partition),
                        key: message.key,
                        value: value,
                        headers: headers,
                        tag: UInt(row)
                    )
                }
            } catch {
                return error
            }
        }
        return nil
    }

    /// Waits until every prediction handed to the producer, and every dead letter, is delivered
    /// or failed, however long a broker is away (librdkafka's message.timeout.ms bounds it),
    /// unless `stop()`. Dead letters are awaited so that a committed offset implies its bad
    /// records reached the dead-letter topic (their failures are counted, not retried).
    private func awaitDeliveries() throws {
        var lastWarning = ContinuousClock.now
        while true {
            var isPredictionsDone = false
            do {
                try state.producer.flush(timeout: .milliseconds(200))
                isPredictionsDone = true
                try deadLetters.flush(timeout: .milliseconds(200))
                return
            } catch let error as KafkaError where error.isFatal {
                logger.error("Producer failed while waiting for deliveries: \(error)")
                // A fatal predictions producer fails what it holds; `rewind` replaces it. A
                // fatal dead-letter producer only loses dead letters, which it counts.
                if !isPredictionsDone { state.isProducerFailed = true }
                return
            } catch {
                guard !isStopRequested.load(ordering: .relaxed) else { throw InferenceError.stopped }
                if ContinuousClock.now - lastWarning >= .seconds(30) {
                    lastWarning = .now
                    logger.warning(
                        "Waiting for predictions and dead letters to be delivered",
                        [
                            "predictions": String(state.producer.outstandingCount),
                            "dead_letters": String(deadLetters.outstandingCount),
                        ]
                    )
                }
            }
        }
    }

    /// After a failed delivery: replaces the producer if it failed for good, and moves the
    /// batch's partitions back to where their predictions end (exactly-once) or to the batch's
    /// start (at-least-once). Falls back to a pending scan when that cannot be decided now.
    private func rewind() throws {
        if state.isProducerFailed || settings.delivery == .exactlyOnce {
            // With enable.gapless.guarantee a failure stops the producer; a new one starts clean.
            state.producer = try Self.makeProducer(settings: settings, logHandler: kafkaLogHandler)
            state.isProducerFailed = false
        }
        let starts = state.batchStart
        do {
            var targets = starts
            if settings.delivery == .exactlyOnce {
                targets = try resumeOffsets(for: Array(starts.keys), settledOffsets: starts)
                for (partition, start) in starts where targets[partition] == nil {
                    targets[partition] = start
                }
            }
            state.prefetchMonitor.reset()
            try consumer.seek(
                targets.map { KafkaTopicPartitionOffset($0.key, offset: $0.value) },
                timeout: settings.requestTimeout
            )
            for (partition, offset) in targets { state.resumeFloor[partition] = offset }
        } catch {
            logger.warning("Failed to rewind inference partitions: \(error), pausing them until it succeeds")
            for (partition, start) in starts {
                state.pendingScan.insert(partition)
                state.discardedStart[partition] = min(state.discardedStart[partition] ?? .max, start)
            }
            try? consumer.pause(Array(starts.keys))
        }
    }

    // MARK: - Offsets

    /// Commits the offsets of delivered batches; on failure keeps them for the next try.
    /// Returns whether nothing is left to commit.
    private func commitPending() -> Bool {
        guard !state.pendingCommit.isEmpty else { return true }
        let offsets = state.pendingCommit.map { KafkaTopicPartitionOffset($0.key, offset: $0.value) }
        do {
            try consumer.commit(offsets)
            state.pendingCommit.removeAll(keepingCapacity: true)
            return true
        } catch {
            logRateLimited("Failed to commit inference offsets: \(error), retrying after the next batch")
            return false
        }
    }

    private func handleRebalance(_ event: KafkaRebalance) throws -> [KafkaTopicPartition: Int64] {
        state.prefetchMonitor.reset()
        switch event.kind {
        case .assigned:
            logger.info(
                "Inference partitions assigned",
                ["partitions": event.partitions.map(\.description).joined(separator: ",")]
            )
            guard settings.delivery == .exactlyOnce else { return [:] }
            do {
                let committed = try consumer.committedOffsets(
                    of: event.partitions,
                    timeout: settings.requestTimeout
                )
                let starts = try resumeOffsets(for: event.partitions, settledOffsets: committed)
                for (partition, offset) in starts { state.resumeFloor[partition] = offset }
                return starts
            } catch {
                logger.warning(
                    "Failed to find where the predictions of newly assigned partitions end: \(error), "
                        + "holding them back until it succeeds"
                )
                state.pendingScan.formUnion(event.partitions)
                return [:]
            }
        case .revoked:
            // Every polled batch is delivered before the next poll; only commits can be pending.
            let revoked = Set(event.partitions)
            let offsets = state.pendingCommit.filter { revoked.contains($0.key) }
            if !offsets.isEmpty {
                do {
                    try consumer.commit(offsets.map { KafkaTopicPartitionOffset($0.key, offset: $0.value) })
                } catch {
                    logger.warning("Failed to commit offsets of revoked inference partitions: \(error)")
                }
            }
            forget(revoked)
            return [:]
        case .lost:
            forget(Set(event.partitions))
            return [:]
        }
    }

    private func forget(_ partitions: Set<KafkaTopicPartition>) {
        for partition in partitions {
            state.pendingCommit[partition] = nil
            state.resumeFloor[partition] = nil
            state.discardedStart[partition] = nil
        }
        state.pendingScan.subtract(partitions)
    }

    /// Per partition, where to resume: after the last prediction found on the predictions
    /// topic, or at the settled offset when that is later. Partitions with neither are left
    /// out. Also queues a commit of the new position, so the next scan is short.
    private func resumeOffsets(
        for partitions: [KafkaTopicPartition],
        settledOffsets: [KafkaTopicPartition: Int64]
    ) throws -> [KafkaTopicPartition: Int64] {
        guard let scan = state.scan, !partitions.isEmpty else { return [:] }
        let producer = state.producer
        let timeout = settings.requestTimeout
        let found = try scan.lastPredictedOffsets(for: partitions, settledOffsets: settledOffsets) {
            try producer.queryWatermarks(topic: $0, partition: $1, timeout: timeout)
        }
        if found.isTruncated {
            logger.warning(
                "Stopped reading predictions after \(found.recordsRead) records without reaching every "
                    + "partition's committed offset; predictions older than that may be repeated"
            )
        }
        var starts: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions {
            let settled = settledOffsets[partition]
            let afterLast = found.lastPredictedOffsets[partition].map { $0 + 1 }
            guard let start = [settled, afterLast].compactMap({ $0 }).max() else { continue }
            starts[partition] = start
            if let afterLast, afterLast > (settled ?? -1) {
                let skipped = afterLast - (settled ?? afterLast)
                logger.notice(
                    "Resuming inference after predictions already delivered",
                    [
                        "partition": partition.description,
                        "offset": String(start),
                        "already_predicted": settled == nil ? "unknown" : String(skipped),
                    ]
                )
                state.pendingCommit[partition] = start
            }
        }
        return starts
    }

    /// Retries the scans that failed on assignment or rewind, for partitions held back meanwhile.
    private func resolvePendingScans() throws {
        guard !state.pendingScan.isEmpty else { return }
        let partitions = Array(state.pendingScan).sorted()
        try? consumer.pause(partitions)
        do {
            let committed = try consumer.committedOffsets(of: partitions, timeout: settings.requestTimeout)
            var targets: [KafkaTopicPartition: Int64] = [:]
            switch settings.delivery {
            case .exactlyOnce:
                targets = try resumeOffsets(for: partitions, settledOffsets: committed)
            case .atLeastOnce:
                targets = committed
            }
            for partition in partitions where targets[partition] == nil {
                targets[partition] = state.discardedStart[partition]
            }
            if !targets.isEmpty {
                state.prefetchMonitor.reset()
                try consumer.seek(
                    targets.map { KafkaTopicPartitionOffset($0.key, offset: $0.value) },
                    timeout: settings.requestTimeout
                )
            }
            for (partition, offset) in targets { state.resumeFloor[partition] = offset }
            try consumer.resume(partitions)
            forgetPending(partitions)
        } catch {
            logRateLimited("Failed to find where the predictions of held-back partitions end: \(error)")
        }
    }

    private func forgetPending(_ partitions: [KafkaTopicPartition]) {
        state.pendingScan.subtract(partitions)
        for partition in partitions { state.discardedStart[partition] = nil }
    }

    // MARK: - Helpers

    private func crashIfDue(at point: CrashPoint) throws {
        guard let crash = state.crash, crash.point == point else { return }
        guard crash.batches <= 1 else {
            state.crash = (crash.batches - 1, point)
            return
        }
        state.crash = nil
        state.isAbandoned = true
        try? consumer.close()
        throw InferenceError.simulatedCrash
    }

    private func logRateLimited(_ message: String) {
        guard let suppressed = state.warningLog.admit() else { return }
        let more = suppressed > 0 ? " (\(suppressed) similar messages suppressed)" : ""
        logger.warning(message + more)
    }

    /// Runs `body` as the only user of the loop state; a second thread at once is a programmer
    /// error and traps. The acquire and release order `state` between threads.
    private func exclusively<Result>(_ body: () throws -> Result) rethrows -> Result {
        let (acquired, _) = isBusy.compareExchange(
            expected: false,
            desired: true,
            ordering: .acquiring
        )
        guard acquired else { preconditionFailure("InferenceService used from two threads at once") }
        defer { isBusy.store(false, ordering: .releasing) }
        return try body()
    }

    private static func makeProducer(
        settings: InferenceSettings,
        logHandler: KafkaLogHandler?
    ) throws -> KafkaProducer {
        var configuration = settings.kafka.producerProperties
        if settings.delivery == .exactlyOnce && !configuration.contains("enable.gapless.guarantee") {
            configuration["enable.gapless.guarantee"] = "true"
        }
        return try KafkaProducer(configuration: configuration, logHandler: logHandler)
    }
}

/// The inference loop's mutable state and its buffers, allocated once for the poll size.
private final class LoopState {
    let decoder: InferenceRecordDecoder
    let batch: KafkaMessageBatch
    var producer: KafkaProducer
    var isProducerFailed = false
    var partitioner: PredictionPartitioner?
    var scan: PredictionResumeScan?
    var writer = PredictionValueWriter()
    var warningLog = LogThrottle(burst: 5, period: .seconds(60))
    /// Wakes librdkafka's fetcher when it stopped at the consumer queue's bound.
    var prefetchMonitor: KafkaPrefetchMonitor

    /// Offsets of delivered batches not yet committed (next offset to read).
    var pendingCommit: [KafkaTopicPartition: Int64] = [:]
    /// Partitions whose resume point is unknown: their records are discarded until it is.
    var pendingScan: Set<KafkaTopicPartition> = []
    /// For partitions in `pendingScan`, the first offset that was discarded or rewound.
    var discardedStart: [KafkaTopicPartition: Int64] = [:]
    /// Per partition, the first offset not yet predicted when it was assigned or rewound.
    var resumeFloor: [KafkaTopicPartition: Int64] = [:]
    /// The current batch's first and next offsets per partition.
    var batchStart: [KafkaTopicPartition: Int64] = [:]
    var batchNext: [KafkaTopicPartition: Int64] = [:]

    var crash: (batches: Int, point: InferenceService.CrashPoint)?
    var isAbandoned = false

    let features: UnsafeMutablePointer<Float>
    let logits: UnsafeMutablePointer<Float>
    /// Each row's label, NaN for an unlabelled record.
    let rowLabels: UnsafeMutablePointer<Float>
    let rowMessages: UnsafeMutablePointer<Int>
    let labelledLogits: UnsafeMutablePointer<Float>
    let labelledLabels: UnsafeMutablePointer<Float>
    private var topicHeaders: [String: KafkaHeader] = [:]

    init(
        decoder: InferenceRecordDecoder,
        capacity: Int,
        producer: KafkaProducer,
        prefetchMonitor: KafkaPrefetchMonitor
    ) {
        self.decoder = decoder
        self.producer = producer
        self.prefetchMonitor = prefetchMonitor
        batch = KafkaMessageBatch(capacity: capacity)
        features = .allocate(capacity: capacity * decoder.featureCount)
        logits = .allocate(capacity: capacity)
        rowLabels = .allocate(capacity: capacity)
        rowMessages = .allocate(capacity: capacity)
        labelledLogits = .allocate(capacity: capacity)
        labelledLabels = .allocate(capacity: capacity)
    }

    deinit {
        features.deallocate()
        logits.deallocate()
        rowLabels.deallocate()
        rowMessages.deallocate()
        labelledLogits.deallocate()
        labelledLabels.deallocate()
    }

    /// The source-topic header for `topic`, built once per topic.
    func topicHeader(_ topic: String) -> KafkaHeader {
        if let header = topicHeaders[topic] { return header }
        let header = KafkaHeader(name: RecordHeaderName.sourceTopic, text: topic)
        topicHeaders[topic] = header
        return header
    }
}
