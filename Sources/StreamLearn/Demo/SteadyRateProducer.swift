import Foundation
import Kafka
import Locking
import StreamLearnCore
import Synchronization

/// Produces SUSY-shaped rows to a topic at a steady rate, on a thread of its own, in the
/// tutorial's layout: key = the label as text, value = the 18 features as CSV.
///
/// Every 10 ms it produces the rows that are due by then (a token bucket of `rowsPerSecond`
/// that holds at most one second of catch-up), spread over the partitions in turn, and scores
/// each with the generator's exact posterior (`BayesReference`) so the demo can show the best
/// achievable figures. After `driftAfter` the rows come from the drifted concept.
///
/// With `malformedEvery` = N, every Nth row is malformed on purpose, in turn each kind of
/// `MalformedKind` (its key stays a valid label), so that the daemon's bad-record handling and
/// dead-letter topic have something to show; those rows are left out of the reference figures.
///
/// Back-pressure: while the consumer (`consumedCount`) is `backlogLimit` rows or more behind,
/// production pauses, so that a slow machine never makes the embedded broker drop rows that
/// were not trained yet; `snapshot.isHeldBack` says so.
///
/// Producing allocates nothing per row: rows are written straight into a reused produce batch.
/// Threads: `start` and `stop` from the owning thread; `snapshot` from any thread. The
/// generators and batch belong to the producing thread; counters and the reference live behind
/// a mutex, which is why the class is honestly `@unchecked Sendable`.
final class SteadyRateProducer: @unchecked Sendable {
    /// The ways a malformed row is broken, named as the daemon's dead-letter reasons.
    enum MalformedKind: String, CaseIterable, Sendable {
        /// Field 7 is "n/a".
        case notANumber = "not_a_number"
        /// The last feature is missing: 17 fields.
        case wrongFieldCount = "wrong_field_count"
        /// Field 4 is "NaN".
        case notFinite = "not_finite"
    }

    /// What has been produced so far.
    struct Snapshot: Sendable {
        /// Rows handed to librdkafka, malformed ones included.
        var produced = 0
        /// Malformed rows among them, per kind.
        var malformed: [MalformedKind: Int] = [:]
        /// Rows the broker acknowledged, and rows that failed for good.
        var delivered = 0
        var failed = 0
        /// The first failure to produce or deliver, for the summary.
        var firstError: String?
        /// The index of the first drifted row, once the drift has begun.
        var driftRow: Int?
        /// True while production pauses because the consumer is too far behind.
        var isHeldBack = false
        /// True once production has paused at least once.
        var wasHeldBack = false
        /// The Bayes classifier's figures on the rows of each concept so far.
        var bestOriginal = BayesReference.Figures(rows: 0)
        var bestDrifted = BayesReference.Figures(rows: 0)

        /// Malformed rows of every kind.
        var malformedTotal: Int { malformed.values.reduce(0, +) }

        /// The concept of the newest row.
        var concept: SyntheticSUSY.Concept { driftRow == nil ? .original : .drifted }
    }

    let topic: String
    let rowsPerSecond: Int
    let driftAfter: Duration?
    let backlogLimit: Int
    let malformedEvery: Int?

    private let producer: KafkaProducer
    private let partitionCount: Int32
    private let seed: UInt64
    private let consumedCount: @Sendable () -> Int64
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let isStopRequested = Atomic(false)
    private let state = Locked(State())

    private struct State: Sendable {
        var produced = 0
        var malformed: [MalformedKind: Int] = [:]
        var driftRow: Int?
        var isHeldBack = false
        var wasHeldBack = false
        var reference = BayesReference()
        var productionError: String?
    }

    /// A producer of `rowsPerSecond` rows of generator `seed`, drifting after `driftAfter`
    /// (nil: never), every `malformedEvery`th row malformed (nil: none), pausing while
    /// `consumedCount()` (rows the consumer has taken, bad ones included) is `backlogLimit`
    /// rows behind.
    init(
        producer: KafkaProducer,
        topic: String,
        partitionCount: Int32,
        rowsPerSecond: Int,
        seed: UInt64,
        driftAfter: Duration?,
        backlogLimit: Int,
        malformedEvery: Int? = nil,
        consumedCount: @escaping @Sendable () -> Int64
    ) {
        precondition(partitionCount > 0 && rowsPerSecond > 0, "a steady-rate producer needs partitions and a rate")
        precondition(malformedEvery.map { $0 > 0 } ?? true, "a malformed row every 0 rows")
        self.producer = producer
        self.topic = topic
        self.partitionCount = partitionCount
        self.rowsPerSecond = rowsPerSecond
        self.seed = seed
        self.driftAfter = driftAfter
        self.backlogLimit = backlogLimit
        self.malformedEvery = malformedEvery
        self.consumedCount = consumedCount
    }

    /// Starts producing on a new thread.
    func start() {
        let thread = Thread { [self] in
            produceUntilStopped()
            finished.signal()
        }
        thread.name = "streamlearn demo producer"
        thread.start()
    }

    /// Stops producing, waits for the thread, then waits up to `flushTimeout` for librdkafka
    /// to deliver what it still holds. Returns the final snapshot.
    @discardableResult
    func stop(flushTimeout: Duration) -> Snapshot {
        if !isStopRequested.exchange(true, ordering: .relaxed) {
            wakeUp.signal()
            finished.wait()
        }
        do {
            try producer.flush(timeout: flushTimeout)
        } catch {
            state.withLock { state in
                if state.productionError == nil { state.productionError = "Failed to flush the producer: \(error)" }
            }
        }
        return snapshot
    }

    /// A consistent view of the counters and the reference figures; sorts the AUC windows, so
    /// call it about once a second, not per row.
    var snapshot: Snapshot {
        var snapshot = state.withLock { state in
            Snapshot(
                produced: state.produced,
                malformed: state.malformed,
                firstError: state.productionError,
                driftRow: state.driftRow,
                isHeldBack: state.isHeldBack,
                wasHeldBack: state.wasHeldBack,
                bestOriginal: state.reference.figures(for: .original),
                bestDrifted: state.reference.figures(for: .drifted)
            )
        }
        snapshot.delivered = producer.deliveredCount
        snapshot.failed = producer.failedDeliveryCount
        if snapshot.firstError == nil, let failure = producer.firstDeliveryError {
            snapshot.firstError = "\(failure)"
        }
        return snapshot
    }

    private static let tick = 0.01
    private static let batchCapacity = 2048
    private static let maximumValueLength = SyntheticSUSY.featureCount * (DecimalWriter.maximumLength + 1)

    private func produceUntilStopped() {
        // Two streams of one seed family: the original concept, then, after the drift, a
        // generator that drifts from its first row.
        var original = SyntheticSUSY(seed: seed)
        var drifted = SyntheticSUSY(seed: seed &+ 1, driftRow: 0)
        let batch = KafkaProduceBatch(capacity: Self.batchCapacity, bytesPerMessage: 192)
        let features = UnsafeMutableBufferPointer<Double>.allocate(capacity: SyntheticSUSY.featureCount)
        defer { features.deallocate() }
        let keys: [UInt8] = [UInt8(ascii: "0"), UInt8(ascii: "1")]
        let start = ContinuousClock.now
        var last = start
        var tokens = 0.0
        var produced = 0
        var driftRow: Int?

        while !isStopRequested.load(ordering: .relaxed) {
            let now = ContinuousClock.now
            tokens = min(tokens + Double(rowsPerSecond) * Self.seconds(now - last), Double(rowsPerSecond))
            last = now
            if driftRow == nil, let driftAfter, now - start >= driftAfter { driftRow = produced }
            let isHeldBack = Int64(produced) - consumedCount() >= Int64(backlogLimit)
            if isHeldBack { tokens = 0 }
            state.withLock { state in
                state.isHeldBack = isHeldBack
                if isHeldBack { state.wasHeldBack = true }
                state.driftRow = driftRow
            }

            while tokens >= 1 && !isStopRequested.load(ordering: .relaxed) {
                let count = min(Int(tokens), Self.batchCapacity)
                tokens -= Double(count)
                let concept: SyntheticSUSY.Concept = driftRow == nil ? .original : .drifted
                state.withLock { state in
                    for _ in 0..<count {
                        let label =
                            concept == .original ? original.next(into: features) : drifted.next(into: features)
                        let malformed = malformedKind(ofRow: produced)
                        if let malformed {
                            state.malformed[malformed, default: 0] += 1
                        } else {
                            state.reference.add(features: UnsafeBufferPointer(features), label: label, concept: concept)
                        }
                        keys.withUnsafeBytes { keys in
                            batch.append(
                                key: UnsafeRawBufferPointer(rebasing: keys[label...label]),
                                maximumValueCount: Self.maximumValueLength,
                                partition: Int32(produced % Int(partitionCount))
                            ) { value in Self.writeCSV(features, malformed: malformed, to: value) }
                        }
                        produced += 1
                    }
                    state.produced = produced
                }
                do {
                    try producer.send(batch, topic: topic)
                } catch {
                    state.withLock { state in
                        if state.productionError == nil { state.productionError = "\(error)" }
                    }
                    isStopRequested.store(true, ordering: .relaxed)
                }
            }
            producer.poll(timeout: .zero)
            _ = wakeUp.wait(timeout: .now() + Self.tick)
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    /// The kind of row `index` if it is to be malformed: the last row of every `malformedEvery`,
    /// the kinds in turn.
    private func malformedKind(ofRow index: Int) -> MalformedKind? {
        guard let malformedEvery, index % malformedEvery == malformedEvery - 1 else { return nil }
        let kinds = MalformedKind.allCases
        return kinds[(index / malformedEvery) % kinds.count]
    }

    /// Writes the features as comma-separated decimals, broken as `malformed` says; returns the
    /// bytes used (never more than `maximumValueLength`).
    private static func writeCSV(
        _ features: UnsafeMutableBufferPointer<Double>,
        malformed: MalformedKind?,
        to value: UnsafeMutableRawBufferPointer
    )
        -> Int
    {
        let bytes = value.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let fieldCount = malformed == .wrongFieldCount ? features.count - 1 : features.count
        var length = 0
        for index in 0..<fieldCount {
            if index > 0 {
                bytes[length] = UInt8(ascii: ",")
                length += 1
            }
            // Fields count from 1, as the daemon's reasons name them.
            switch (malformed, index + 1) {
            case (.notANumber, 7): length += write("n/a", to: bytes + length)
            case (.notFinite, 4): length += write("NaN", to: bytes + length)
            default: length += DecimalWriter.write(features[index], to: bytes + length)
            }
        }
        return length
    }

    private static func write(_ text: StaticString, to bytes: UnsafeMutablePointer<UInt8>) -> Int {
        bytes.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        return text.utf8CodeUnitCount
    }
}
