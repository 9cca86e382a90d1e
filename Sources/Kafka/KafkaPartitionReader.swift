import CRdKafka
import Locking
import Synchronization

/// Reads one partition from a given offset, without a consumer group, optionally stopping
/// before an end offset.
///
/// Uses librdkafka's partition fetch API (`rd_kafka_consume_start_queue`), which, unlike
/// `rd_kafka_assign`, needs no `group.id`; nothing is committed. Threads: `read` runs on one thread at a
/// time (calling it from two at once traps); the other methods may be called from any thread.
/// That, immutable stored properties, the read lock and atomic progress make the class honestly
/// `@unchecked Sendable`.
public final class KafkaPartitionReader: @unchecked Sendable {
    public let topic: String
    public let partition: Int32

    /// The first offset not to read, or nil to read on as records arrive.
    public let endOffset: Int64?

    private let client: RDKafkaClient
    private let queue: RDKafkaQueue
    private let readLock = Locked(())
    private let next: Atomic<Int64>
    private let finished: Atomic<Bool>

    /// Starts fetching `topic`[`partition`] at `startOffset` (an offset or one of `KafkaOffset`).
    ///
    /// With `endOffset`, reading stops before it: records at or past it are never returned.
    public init(
        configuration: KafkaConfiguration,
        topic: String,
        partition: Int32,
        startOffset: Int64,
        endOffset: Int64? = nil,
        logHandler: KafkaLogHandler? = nil
    ) throws {
        let configuration = configuration.withDefaults([
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
        ])
        client = try RDKafkaClient(
            role: .consumer,
            configuration: configuration,
            callbacks: RDKafkaCallbacks(logHandler: logHandler)
        )
        queue = try RDKafkaQueue(
            fetching: partition,
            of: RDKafkaTopic(name: topic, client: client),
            from: startOffset,
            client: client
        )
        self.topic = topic
        self.partition = partition
        self.endOffset = endOffset
        let isEmptyRange = endOffset.map { end in startOffset >= 0 && startOffset >= end } ?? false
        next = Atomic(startOffset >= 0 ? startOffset : KafkaOffset.invalid)
        finished = Atomic(isEmptyRange)
    }

    /// True once a record just before `endOffset` has been read.
    public var isFinished: Bool { finished.load(ordering: .relaxed) }

    /// The offset after the last record returned, or nil before the first read of a logical start.
    public var nextOffset: Int64? {
        let offset = next.load(ordering: .relaxed)
        return offset >= 0 ? offset : nil
    }

    /// Fills `batch` with up to `maxMessages` records of the partition, waiting up to `timeout`
    /// for the first; records at or past `endOffset` are dropped. Returns at once, with an empty
    /// batch, once the reader is finished.
    public func read(into batch: KafkaMessageBatch, maxMessages: Int = .max, timeout: Duration)
        throws
    {
        let result: Result<Void, any Error>? = readLock.withLockIfAvailable { _ in
            Result {
                guard !isFinished else {
                    batch.release()
                    return
                }
                try batch.fill(from: queue, maxMessages: maxMessages, timeout: timeout)
                // Client events (errors) go to the main queue, which nothing else serves here.
                _ = client.withHandle { rd_kafka_poll($0, 0) }
                if let endOffset, let pastEnd = batch.firstIndex(where: { $0.offset >= endOffset }) {
                    batch.removeMessages(from: pastEnd)
                    finished.store(true, ordering: .relaxed)
                }
                if let last = batch.last {
                    next.store(last.offset + 1, ordering: .relaxed)
                    if let endOffset, last.offset + 1 >= endOffset {
                        finished.store(true, ordering: .relaxed)
                    }
                }
            }
        }
        guard let result else {
            preconditionFailure("KafkaPartitionReader.read called from two threads at once")
        }
        try result.get()
    }

    /// Asks the partition's leader for its current low and high watermarks.
    public func queryWatermarks(timeout: Duration) throws -> KafkaWatermarks {
        try client.queryWatermarks(topic: topic, partition: partition, timeout: timeout)
    }
}
