import Kafka
import Locking
import StreamLearnCore

/// Takes the records that could not be decoded: counts them, logs them at a bounded rate and,
/// when a dead-letter topic is configured, copies each one there unchanged.
///
/// A copy keeps the record's key, value and headers byte for byte and adds headers naming the
/// reason, the source topic, partition and offset, and this instance (`RecordHeaderName`). It
/// goes to the dead-letter partition the producer's partitioner picks from the key.
///
/// Never blocks its caller: `handle` enqueues and returns; delivery runs in the background on
/// its own idempotent producer. When librdkafka's queue is full (a broker gone for long), the
/// copy is dropped and counted (`Counts.dropped`) rather than waiting; failed deliveries are
/// counted and logged. So dead letters are at least as durable as the producer allows, not
/// transactional: a crash before delivery loses the copy while the input offset may already be
/// committed, and a reprocessed batch copies its bad records again.
///
/// Threads: every method may be called from any thread (training and inference share one
/// publisher); delivery reports are served by `handle`, `poll` and `flush` on their caller's
/// thread.
public final class DeadLetterPublisher: Sendable {
    /// Totals since the publisher was created.
    public struct Counts: Sendable, Equatable {
        /// Records handed to `handle`: every undecodable record.
        public var badRecords = 0
        /// Copies enqueued for the dead-letter topic.
        public var enqueued = 0
        /// Copies whose delivery the broker confirmed.
        public var delivered = 0
        /// Copies whose delivery failed after librdkafka's retries.
        public var failedDeliveries = 0
        /// Copies that could not be enqueued (queue full, producer failed).
        public var dropped = 0
        /// `badRecords` by `DecodeFailure.reason`.
        public var byReason: [String: Int] = [:]

        public init() {}
    }

    /// The dead-letter topic, or nil when bad records are only counted and logged.
    public let topic: String?
    /// The value of the instance header.
    public let instance: String

    private let producer: KafkaProducer?
    private let logger: Logger
    private let state: SharedState

    private struct State {
        var counts = Counts()
        var recordLog: LogThrottle
        var deliveryLog: LogThrottle
    }

    /// The counts and log limits, shared by the training and inference threads and the
    /// producer's delivery handler.
    private final class SharedState: Sendable {
        private let state: Locked<State>

        init(_ state: State) {
            self.state = Locked(state)
        }

        func withLock<Result>(_ body: (inout State) -> Result) -> Result {
            state.withLock { body(&$0) }
        }
    }

    /// A publisher for `topic` (nil: count and log only).
    ///
    /// `configuration` holds the client properties (bootstrap servers, security); the producer
    /// adds `enable.idempotence=true` unless they say otherwise. At most `logLimit` bad records,
    /// and as many delivery failures, are logged per `logInterval`; the rest are counted and
    /// summarised. Throws when librdkafka refuses the configuration.
    public init(
        configuration: KafkaConfiguration,
        topic: String?,
        instance: String,
        logger: Logger,
        logLimit: Int = 5,
        logInterval: Duration = .seconds(60),
        kafkaLogHandler: KafkaLogHandler? = nil
    ) throws {
        let state = SharedState(
            State(
                recordLog: LogThrottle(burst: logLimit, period: logInterval),
                deliveryLog: LogThrottle(burst: logLimit, period: logInterval)
            )
        )
        if let topic {
            producer = try KafkaProducer(
                configuration: configuration,
                queueFullTimeout: .zero,
                logHandler: kafkaLogHandler,
                deliveryHandler: { report in
                    Self.count(report, topic: topic, state: state, logger: logger)
                }
            )
        } else {
            producer = nil
        }
        self.topic = topic
        self.instance = instance
        self.logger = logger
        self.state = state
    }

    /// Counts, logs (rate-limited) and, with a topic, copies one undecodable record.
    ///
    /// `key`, `value` and `headers` are the record's own, passed unchanged; they are copied
    /// before this returns. Never throws and never waits: a copy that cannot be enqueued is
    /// counted as dropped and logged.
    public func handle(
        _ failure: DecodeFailure,
        topic sourceTopic: String,
        partition: Int32,
        offset: Int64,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader] = []
    ) {
        let shouldLog = state.withLock { state in
            state.counts.badRecords += 1
            state.counts.byReason[failure.reason, default: 0] += 1
            return state.recordLog.admit()
        }
        if let suppressed = shouldLog {
            if suppressed > 0 {
                logger.warning("Skipped logging \(suppressed) further undecodable records")
            }
            let action = topic == nil ? "skipping" : "dead-lettering"
            logger.warning(
                "Failed to decode record '\(sourceTopic)'[\(partition)]@\(offset): "
                    + "\(failure.description(key: key, value: value)), \(action)",
                ["reason": failure.reason]
            )
        }
        guard let producer, let topic else { return }

        var copyHeaders = headers
        copyHeaders.append(KafkaHeader(name: RecordHeaderName.reason, text: failure.reason))
        copyHeaders.append(
            KafkaHeader(name: RecordHeaderName.reasonDetail, text: failure.description(key: key, value: value))
        )
        copyHeaders.append(KafkaHeader(name: RecordHeaderName.sourceTopic, text: sourceTopic))
        copyHeaders.append(KafkaHeader(name: RecordHeaderName.sourcePartition, text: String(partition)))
        copyHeaders.append(KafkaHeader(name: RecordHeaderName.sourceOffset, text: String(offset)))
        copyHeaders.append(KafkaHeader(name: RecordHeaderName.instance, text: instance))
        do {
            try producer.send(topic: topic, key: key, value: value, headers: copyHeaders)
            state.withLock { $0.counts.enqueued += 1 }
        } catch {
            let decision = state.withLock { state in
                state.counts.dropped += 1
                return state.deliveryLog.admit()
            }
            if decision != nil {
                logger.warning(
                    "Failed to enqueue dead letter for '\(sourceTopic)'[\(partition)]@\(offset): \(error), ignoring"
                )
            }
        }
        producer.poll(timeout: .zero)
    }

    /// Counts, logs and copies the undecodable `message`, with its own headers.
    public func handle(_ failure: DecodeFailure, message: KafkaMessage) {
        handle(
            failure,
            topic: message.topic,
            partition: message.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            headers: message.headers
        )
    }

    /// Serves delivery reports that have arrived, without waiting.
    public func poll() {
        producer?.poll(timeout: .zero)
    }

    /// Waits up to `timeout` for every enqueued copy to be delivered or to fail (shutdown).
    /// Throws `KafkaError.undelivered` when copies remain.
    public func flush(timeout: Duration) throws {
        try producer?.flush(timeout: timeout)
    }

    /// Copies not yet delivered or failed.
    public var outstandingCount: Int { producer?.outstandingCount ?? 0 }

    /// A snapshot of the totals.
    public var counts: Counts { state.withLock { $0.counts } }

    private static func count(_ report: KafkaDeliveryReport, topic: String, state: SharedState, logger: Logger) {
        guard let error = report.error else {
            state.withLock { $0.counts.delivered += 1 }
            return
        }
        let decision = state.withLock { state in
            state.counts.failedDeliveries += 1
            return state.deliveryLog.admit()
        }
        if let suppressed = decision {
            let more = suppressed > 0 ? " (and \(suppressed) more since the last report)" : ""
            logger.warning("Failed to deliver dead letter to '\(topic)': \(error)\(more), ignoring")
        }
    }
}
