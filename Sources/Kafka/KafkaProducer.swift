import CRdKafka
import Locking

/// A producer, idempotent by default, with delivery reports as counts and optional callbacks.
///
/// `enable.idempotence` is true unless the configuration sets it: retries after broker errors
/// then never duplicate or reorder a partition's records. Compression is a property
/// (`compression.codec=lz4` or `zstd`).
///
/// Delivery reports are served only by `poll`, `flush` and the `send` calls that must wait for
/// queue space, on the calling thread; they are always counted (`deliveredCount`,
/// `failedDeliveryCount`, `firstDeliveryError`) and also handed to the `deliveryHandler` when
/// one is given. Call `poll` regularly (a bulk `send(_:topic:)` does so itself) and `flush`
/// before releasing the producer: releasing it drops messages still queued.
///
/// Threads: every method may be called from any thread; librdkafka's producer is thread-safe,
/// the topic handle cache is behind a mutex, and counters are atomics, so the class is Sendable.
public final class KafkaProducer: Sendable {
    private let client: RDKafkaClient
    private let topics = Locked<[String: RDKafkaTopic]>([:])

    /// How long a `send` keeps polling and retrying while librdkafka's queue is full
    /// (`queue.buffering.max.messages` or `.kbytes` reached) before it gives up.
    public let queueFullTimeout: Duration

    /// Creates the producer; it connects in the background.
    ///
    /// Throws `KafkaError.invalidProperty` for a refused property and `.failed` when librdkafka
    /// refuses the combination (for example idempotence with `acks=1`).
    public init(
        configuration: KafkaConfiguration,
        queueFullTimeout: Duration = .seconds(30),
        logHandler: KafkaLogHandler? = nil,
        deliveryHandler: KafkaDeliveryHandler? = nil
    ) throws {
        client = try RDKafkaClient(
            role: .producer,
            configuration: configuration.withDefaults(["enable.idempotence": "true"]),
            callbacks: RDKafkaCallbacks(logHandler: logHandler, deliveryHandler: deliveryHandler)
        )
        self.queueFullTimeout = queueFullTimeout
    }

    /// Enqueues one message; librdkafka copies key, value and headers before this returns.
    ///
    /// `partition` nil lets the partitioner choose (from the key, `partitioner` property).
    /// `tag` comes back in the delivery report. While the queue is full, serves delivery
    /// reports and retries until `queueFullTimeout`. Throws for an unknown topic or partition,
    /// an oversized message, a full queue past the deadline, or a fatal producer error.
    public func send(
        topic: String,
        partition: Int32? = nil,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader] = [],
        tag: UInt = 0
    ) throws {
        let headerList = headers.isEmpty ? nil : Self.makeHeaders(headers)
        let error = topic.withCString { topicName in
            withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { fields in
                var count = 0
                func add(_ type: rd_kafka_vtype_t, _ value: rd_kafka_vu_t.__Unnamed_union_u) {
                    fields[count] = rd_kafka_vu_t(vtype: type, u: value)
                    count += 1
                }
                add(RD_KAFKA_VTYPE_TOPIC, .init(cstr: topicName))
                add(RD_KAFKA_VTYPE_PARTITION, .init(i32: partition ?? -1))
                add(RD_KAFKA_VTYPE_MSGFLAGS, .init(i: RD_KAFKA_MSG_F_COPY))
                add(RD_KAFKA_VTYPE_OPAQUE, .init(ptr: UnsafeMutableRawPointer(bitPattern: tag)))
                if let key {
                    add(
                        RD_KAFKA_VTYPE_KEY,
                        .init(mem: .init(ptr: .init(mutating: key.baseAddress), size: key.count))
                    )
                }
                if let value {
                    add(
                        RD_KAFKA_VTYPE_VALUE,
                        .init(
                            mem: .init(ptr: .init(mutating: value.baseAddress), size: value.count)
                        )
                    )
                }
                if let headerList { add(RD_KAFKA_VTYPE_HEADERS, .init(headers: headerList)) }
                return retryingWhileQueueFull {
                    client.withHandle { handle in
                        guard let failure = rd_kafka_produceva(handle, fields.baseAddress, count)
                        else {
                            return RD_KAFKA_RESP_ERR_NO_ERROR
                        }
                        defer { rd_kafka_error_destroy(failure) }
                        return rd_kafka_error_code(failure)
                    }
                }
            }
        }
        let operation = "produce to \(partition.map { "'\(topic)'[\($0)]" } ?? "'\(topic)'")"
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            // On failure the header list is still ours.
            if let headerList { rd_kafka_headers_destroy(headerList) }
            throw KafkaError.rdkafka(operation, error, client: client)
        }
    }

    /// Enqueues one message from byte arrays; see `send(topic:partition:key:value:headers:tag:)`.
    public func send(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        tag: UInt = 0
    ) throws {
        try Self.withOptionalBytes(key) { key in
            try Self.withOptionalBytes(value) { value in
                try send(
                    topic: topic,
                    partition: partition,
                    key: key,
                    value: value,
                    headers: headers,
                    tag: tag
                )
            }
        }
    }

    /// Enqueues every message of `batch` to `topic` with `rd_kafka_produce_batch`, then empties
    /// the batch and serves pending delivery reports without waiting.
    ///
    /// While the queue is full, serves delivery reports and retries the rest in order until
    /// `queueFullTimeout`. On any other refusal (unknown partition, oversized message) throws;
    /// the messages before the refused one may already be enqueued, and the batch is emptied.
    public func send(_ batch: KafkaProduceBatch, topic: String) throws {
        defer { batch.removeAll() }
        guard !batch.isEmpty else { return }
        let handle = try topicHandle(topic)
        let error = batch.withMessages { messages in
            var start = 0
            return retryingWhileQueueFull {
                let pending = UnsafeMutableBufferPointer(rebasing: messages[start...])
                let flags = RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_PARTITION
                let enqueued = handle.withPointer { topic in
                    rd_kafka_produce_batch(
                        topic,
                        -1,
                        flags,
                        pending.baseAddress,
                        Int32(pending.count)
                    )
                }
                guard Int(enqueued) < pending.count else {
                    start = messages.count
                    return RD_KAFKA_RESP_ERR_NO_ERROR
                }
                // Without another thread polling, the queue stays full once it is, so the refused
                // messages are a suffix; the next attempt starts at the first of them.
                guard
                    let refused = pending.firstIndex(where: { $0.err != RD_KAFKA_RESP_ERR_NO_ERROR }
                    )
                else {
                    return RD_KAFKA_RESP_ERR__FAIL
                }
                start += refused
                return pending[refused].err
            }
        }
        _ = client.withHandle { rd_kafka_poll($0, 0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka("produce batch to '\(topic)'", error, client: client)
        }
    }

    /// Serves delivery reports and client events, waiting up to `timeout` for the first;
    /// returns how many were served. Handlers run on this thread.
    @discardableResult
    public func poll(timeout: Duration) -> Int {
        Int(client.withHandle { rd_kafka_poll($0, timeout.milliseconds) })
    }

    /// Waits up to `timeout` for every queued message to be delivered or to fail, serving
    /// delivery reports on this thread.
    ///
    /// Throws `KafkaError.undelivered` with the count still queued (`rd_kafka_outq_len`) when
    /// time runs out, and the fatal error if the producer raised one. Failed deliveries do not
    /// make it throw: check `failedDeliveryCount` and `firstDeliveryError`.
    public func flush(timeout: Duration) throws {
        _ = client.withHandle { rd_kafka_flush($0, timeout.milliseconds) }
        if let fatal = client.fatalError("flush producer") { throw fatal }
        let remaining = outstandingCount
        if remaining > 0 { throw KafkaError.undelivered(count: remaining, timeout: timeout) }
    }

    /// Messages and requests librdkafka still holds: queued, in flight, or with an unserved
    /// delivery report (`rd_kafka_outq_len`).
    public var outstandingCount: Int {
        Int(client.withHandle { rd_kafka_outq_len($0) })
    }

    /// Messages whose successful delivery report has been served.
    public var deliveredCount: Int { client.callbacks.deliveredCount.load(ordering: .relaxed) }

    /// Messages whose failed delivery report has been served.
    public var failedDeliveryCount: Int { client.callbacks.failedCount.load(ordering: .relaxed) }

    /// The first failed delivery, naming the topic, partition and librdkafka's reason.
    public var firstDeliveryError: KafkaError? { client.callbacks.firstDeliveryError }

    /// Asks the partition's leader for its current low and high watermarks.
    public func queryWatermarks(topic: String, partition: Int32, timeout: Duration) throws
        -> KafkaWatermarks
    {
        try client.queryWatermarks(topic: topic, partition: partition, timeout: timeout)
    }

    /// The client, for an admin that shares this producer's connections.
    var sharedClient: RDKafkaClient { client }

    /// Calls `attempt` until it stops failing with QUEUE_FULL, serving delivery reports in
    /// between so that space frees up, or until `queueFullTimeout` has passed.
    private func retryingWhileQueueFull(
        _ attempt: () -> rd_kafka_resp_err_t
    ) -> rd_kafka_resp_err_t {
        var deadline: ContinuousClock.Instant?
        while true {
            let error = attempt()
            guard error == RD_KAFKA_RESP_ERR__QUEUE_FULL else { return error }
            let limit = deadline ?? .now + queueFullTimeout
            deadline = limit
            guard ContinuousClock.now < limit else { return error }
            _ = client.withHandle { rd_kafka_poll($0, 10) }
        }
    }

    private func topicHandle(_ name: String) throws -> RDKafkaTopic {
        try topics.withLock { topics in
            if let topic = topics[name] { return topic }
            let topic = try RDKafkaTopic(name: name, client: client)
            topics[name] = topic
            return topic
        }
    }

    private static func makeHeaders(_ headers: [KafkaHeader]) -> OpaquePointer {
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(list, header.name, -1, bytes.baseAddress, bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(list, header.name, -1, nil, 0)
            }
        }
        return list
    }

    private static func withOptionalBytes<Result>(
        _ bytes: [UInt8]?,
        _ body: (UnsafeRawBufferPointer?) throws -> Result
    ) rethrows -> Result {
        guard let bytes else { return try body(nil) }
        return try bytes.withUnsafeBytes { try body($0) }
    }
}
