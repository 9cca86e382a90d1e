import Kafka
import StreamLearnCore
import Synchronization

/// The loop of `streamlearn evaluate`: consumes a topic as a consumer group, scores each polled
/// batch, and commits the batch's offsets once it is scored, as the tutorial's
/// `KafkaGroupIODataset` feeding `model.evaluate` does, with honest bookkeeping: a run that is
/// killed leaves the group's offsets after the last batch it finished, so its successor scores
/// exactly the records that were not yet committed, none twice and none skipped.
///
/// The end is decided by the stream timeout: `.atEnd` stops once every assigned partition has
/// reported its end (librdkafka's `enable.partition.eof`), `.after(d)` once no record has
/// arrived for `d`, `.never` only on a stop request (SIGINT, SIGTERM). Undecodable records are
/// counted per partition, reported (the first few in full), never scored, and committed like
/// the others.
///
/// Scoring reuses one feature matrix and one logit vector; nothing is allocated per record
/// except the score kept for the exact AUC. Not thread-safe: runs on the command's thread;
/// only `StopRequest` is shared.
final class GroupEvaluation {
    /// What to evaluate and when to stop.
    struct Settings {
        var topic: String
        var partitionCount: Int
        var streamTimeout: StreamTimeout
        /// Records per poll, scoring batch and commit.
        var batchSize: Int
        /// The longest wait for the group to assign partitions.
        var joinTimeout: Duration
        /// librdkafka's prefetch bound (payload bytes), from `queued.max.messages.kbytes`.
        var prefetchBytes: Int
    }

    /// What a run saw, with its timings.
    struct Outcome {
        var totals: EvaluationTotals
        /// From the start to the first assignment.
        var joinDuration: Duration?
        /// From the first polled record to the last batch committed.
        var readingDuration: Duration
        var totalDuration: Duration
        /// True when a stop request ended the run.
        var wasStopped: Bool
    }

    private let consumer: KafkaConsumer
    private let model: Model
    private let decoder: RecordDecoder
    private let settings: Settings
    private let undecodable: UndecodableRecords
    private let stopRequest: StopRequest
    private let logger: Logger

    private let messages: KafkaMessageBatch
    private var features: [Float]
    private var logits: [Float]
    private var labels: [Float]
    private var rowPartitions: [Int32]
    private var totals: EvaluationTotals

    // Partitions (of the one topic) assigned now, and those that reported their end since.
    private var assigned: Set<Int32> = []
    private var atEnd: Set<Int32> = []
    private var consumerErrorsShown = 0
    private var lastRestart = ContinuousClock.now
    private var bytesSinceRestart = 0

    /// Fetches restarted because librdkafka had stopped fetching (see `restartStarvedFetches`).
    private(set) var restartCount = 0

    // Per poll: the next offset of each partition the poll touched, to commit.
    private var pollNextOffsets: [Int64]
    private var pollTouched: [Int32] = []
    private var commitList: [KafkaTopicPartitionOffset] = []

    init(
        consumer: KafkaConsumer,
        model: Model,
        decoder: RecordDecoder,
        settings: Settings,
        undecodable: UndecodableRecords,
        stopRequest: StopRequest,
        logger: Logger
    ) {
        self.consumer = consumer
        self.model = model
        self.decoder = decoder
        self.settings = settings
        self.undecodable = undecodable
        self.stopRequest = stopRequest
        self.logger = logger
        messages = KafkaMessageBatch(capacity: settings.batchSize)
        features = Array(repeating: 0, count: settings.batchSize * model.inputCount)
        logits = Array(repeating: 0, count: settings.batchSize)
        labels = Array(repeating: 0, count: settings.batchSize)
        rowPartitions = Array(repeating: 0, count: settings.batchSize)
        totals = EvaluationTotals(partitionCount: settings.partitionCount)
        pollNextOffsets = Array(repeating: -1, count: max(settings.partitionCount, 1))
        pollTouched.reserveCapacity(settings.partitionCount)
        commitList.reserveCapacity(settings.partitionCount)
    }

    /// Subscribes, evaluates until the stream timeout or a stop request, and returns what it
    /// saw. The caller closes the consumer.
    ///
    /// Throws `KafkaError` from the consumer (a failed commit included: the batch it covers
    /// will be scored again by the next run) and `CommandError` (exit 69) when no partition is
    /// assigned within the join timeout.
    func run() throws -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        var joinedAt: ContinuousClock.Instant?
        var firstRecordAt: ContinuousClock.Instant?
        var lastRecordAt: ContinuousClock.Instant?
        var wasStopped = false
        try consumer.subscribe(to: [settings.topic])
        defer { messages.release() }

        while true {
            if stopRequest.isRequested {
                wasStopped = true
                break
            }
            try consumer.poll(
                into: messages,
                maxMessages: settings.batchSize,
                timeout: PartitionTraining.starvationTimeout,
                onRebalance: { [unowned self] rebalance in
                    self.apply(rebalance)
                    return [:]
                }
            )
            reportConsumerErrors()
            if !messages.isEmpty {
                firstRecordAt = firstRecordAt ?? clock.now
                try scoreAndCommit()
                lastRecordAt = clock.now
            }
            for end in messages.partitionsAtEnd where end.topic == settings.topic {
                atEnd.insert(end.partition)
            }
            if messages.isEmpty && messages.partitionsAtEnd.isEmpty {
                restartStarvedFetches(now: clock.now)
            }

            let now = clock.now
            guard let joined = joinedAt else {
                if !assigned.isEmpty {
                    joinedAt = now
                } else if now - start > settings.joinTimeout {
                    throw CommandError(
                        .unavailable,
                        "streamlearn evaluate: Failed to join group '\(consumer.groupID)': no partition of "
                            + "'\(settings.topic)' was assigned within \(KafkaCommandContext.describe(settings.joinTimeout))"
                    )
                }
                continue
            }
            if isFinished(now: now, since: max(joined, lastRecordAt ?? joined)) { break }
        }

        let end = clock.now
        return Outcome(
            totals: totals,
            joinDuration: joinedAt.map { $0 - start },
            readingDuration: firstRecordAt.map { (lastRecordAt ?? $0) - $0 } ?? .zero,
            totalDuration: end - start,
            wasStopped: wasStopped
        )
    }

    private func isFinished(now: ContinuousClock.Instant, since lastActivity: ContinuousClock.Instant) -> Bool {
        switch settings.streamTimeout {
        case .atEnd:
            return !assigned.isEmpty && assigned.isSubset(of: atEnd)
        case .after(let timeout):
            return now - lastActivity >= timeout
        case .never:
            return false
        }
    }

    /// Makes librdkafka fetch again partitions that are neither at their end nor delivering.
    ///
    /// librdkafka 2.0.2 stops fetching a partition whose queue reached
    /// `queued.max.messages.kbytes` and looks again only when its broker thread next wakes up,
    /// up to a second later (confluentinc/librdkafka#2879; later librdkafka releases add
    /// `fetch.queue.backoff.ms` for it). Once the queue has run dry, a seek to the current position wakes that thread and
    /// costs nothing: there is nothing queued to discard, and reading goes on from the same
    /// offset. At once when the records taken since the last restart could have filled the
    /// queue, otherwise only once `PartitionTraining.reopenInterval` has passed.
    private func restartStarvedFetches(now: ContinuousClock.Instant) {
        let mayHaveStalled = TutorialKafkaDefaults.mayHaveStalled(
            afterTaking: bytesSinceRestart,
            bound: settings.prefetchBytes
        )
        guard mayHaveStalled || now - lastRestart >= PartitionTraining.reopenInterval else { return }
        let starved = assigned.subtracting(atEnd).map { KafkaTopicPartition(topic: settings.topic, partition: $0) }
        guard !starved.isEmpty else { return }
        lastRestart = now
        bytesSinceRestart = 0
        // Best effort: a seek that fails or times out leaves fetching as librdkafka has it,
        // which is slower but correct, so its error is not the run's.
        guard let positions = try? consumer.positions(of: starved), !positions.isEmpty else { return }
        let offsets = positions.map { KafkaTopicPartitionOffset($0.key, offset: $0.value) }
        guard (try? consumer.seek(offsets, timeout: .milliseconds(500))) != nil else { return }
        restartCount += 1
    }

    private func apply(_ rebalance: KafkaRebalance) {
        let partitions = rebalance.partitions.filter { $0.topic == settings.topic }.map(\.partition)
        switch rebalance.kind {
        case .assigned:
            assigned.formUnion(partitions)
            atEnd.subtract(partitions)
        case .revoked, .lost:
            // Every scored batch is committed before the next poll, so nothing is pending here.
            assigned.subtract(partitions)
            atEnd.subtract(partitions)
        }
    }

    /// Decodes the polled records into the feature matrix, scores them in one pass, adds them
    /// to the totals, then commits the next offset of every partition they came from.
    private func scoreAndCommit() throws {
        let inputCount = model.inputCount
        var rowCount = 0
        features.withUnsafeMutableBufferPointer { features in
            for message in messages {
                bytesSinceRestart &+= (message.value?.count ?? 0) &+ (message.key?.count ?? 0)
                let partition = message.partition
                noteForCommit(partition: partition, offset: message.offset)
                totals.noteEvaluated(partition: partition, offset: message.offset)
                atEnd.remove(partition)
                let row = UnsafeMutableBufferPointer(
                    start: features.baseAddress! + rowCount * inputCount,
                    count: inputCount
                )
                do throws(DecodeFailure) {
                    labels[rowCount] = try decoder.decode(key: message.key, value: message.value, into: row) ?? 0
                } catch {
                    totals.addSkipped(partition: partition)
                    undecodable.record(
                        error,
                        topic: settings.topic,
                        partition: partition,
                        offset: message.offset,
                        key: message.key,
                        value: message.value
                    )
                    continue
                }
                rowPartitions[rowCount] = partition
                rowCount += 1
            }
        }
        if rowCount > 0 {
            features.withUnsafeBufferPointer { features in
                logits.withUnsafeMutableBufferPointer { logits in
                    model.predictLogits(
                        features: UnsafeBufferPointer(rebasing: features[0..<(rowCount * inputCount)]),
                        into: UnsafeMutableBufferPointer(rebasing: logits[0..<rowCount])
                    )
                }
            }
            for row in 0..<rowCount {
                totals.add(logit: logits[row], label: labels[row], partition: rowPartitions[row])
            }
        }
        try commitPoll()
    }

    @inline(__always)
    private func noteForCommit(partition: Int32, offset: Int64) {
        let index = Int(partition)
        if index >= pollNextOffsets.count {
            pollNextOffsets.append(contentsOf: repeatElement(-1, count: index + 1 - pollNextOffsets.count))
        }
        if pollNextOffsets[index] < 0 { pollTouched.append(partition) }
        pollNextOffsets[index] = offset + 1
    }

    private func commitPoll() throws {
        commitList.removeAll(keepingCapacity: true)
        for partition in pollTouched {
            let index = Int(partition)
            commitList.append(
                KafkaTopicPartitionOffset(topic: settings.topic, partition: partition, offset: pollNextOffsets[index])
            )
            pollNextOffsets[index] = -1
        }
        pollTouched.removeAll(keepingCapacity: true)
        try consumer.commit(commitList)
    }

    /// Logs the first few consumer errors (fetch failures that librdkafka retries by itself).
    private func reportConsumerErrors() {
        for error in messages.errors where consumerErrorsShown < 5 {
            consumerErrorsShown += 1
            logger.warning("Consumer error while evaluating '\(settings.topic)': \(error), retrying")
        }
    }
}

/// A stop request shared between a signal-waiting thread and the loop that checks it.
final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)
    private let signalNumber = Atomic<Int32>(0)

    /// True once `request` has been called.
    var isRequested: Bool { flag.load(ordering: .acquiring) }

    /// The signal behind the request, 0 when none.
    var signal: Int32 { signalNumber.load(ordering: .relaxed) }

    func request(signal: Int32 = 0) {
        signalNumber.store(signal, ordering: .relaxed)
        flag.store(true, ordering: .releasing)
    }
}
