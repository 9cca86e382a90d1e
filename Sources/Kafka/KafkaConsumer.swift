import CRdKafka
import Locking

/// A group consumer: subscribes to topics, receives partitions through rebalances, reads them in
/// batches, and stores and commits offsets synchronously.
///
/// Defaults differ from librdkafka's in one way: `enable.auto.commit` and
/// `enable.auto.offset.store` are false unless the configuration sets them, so offsets advance
/// only when the caller stores or commits them, after the work they cover is durable.
///
/// Threads: `poll` and `close` run on one polling thread at a time (rebalance handlers run there,
/// inside them); calling `poll` from two threads at once is a programmer error and traps. Every
/// other method may be called from any thread, including from a rebalance handler, because
/// librdkafka's consumer API is thread-safe. That is why the class is `@unchecked Sendable`: its
/// stored properties are immutable, and its one piece of mutable state (closed or not) is behind
/// the poll lock.
///
/// Termination follows librdkafka's INTRODUCTION.md: `close()` (final revoke, leave group), then
/// the handle is destroyed when the consumer and every batch filled from it are released.
public final class KafkaConsumer: @unchecked Sendable {
    private let client: RDKafkaClient
    private let queue: RDKafkaQueue

    /// Held for the whole of `poll` and `close`; the value says whether `close` has run.
    private let pollLock = Locked(false)

    /// The consumer group, from `group.id`.
    public let groupID: String

    /// Creates the consumer; it connects in the background and joins the group on `subscribe`.
    ///
    /// Throws `KafkaError.invalidProperty` for a refused property or a missing `group.id`.
    public init(configuration: KafkaConfiguration, logHandler: KafkaLogHandler? = nil) throws {
        guard let groupID = configuration["group.id"], !groupID.isEmpty else {
            throw KafkaError.invalidProperty(
                name: "group.id",
                reason: "a group consumer needs a group id"
            )
        }
        let configuration = configuration.withDefaults([
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
        ])
        client = try RDKafkaClient(
            role: .consumer,
            configuration: configuration,
            callbacks: RDKafkaCallbacks(logHandler: logHandler),
            installsRebalance: true
        )
        queue = try RDKafkaQueue(consumerQueueOf: client)
        self.groupID = groupID
    }

    deinit {
        // A consumer released without close() still leaves its group cleanly; nobody is left to
        // hear about a failure.
        try? close()
    }

    /// Subscribes to `topics` (replacing any earlier subscription); partitions arrive through a
    /// rebalance inside a later `poll`.
    public func subscribe(to topics: [String]) throws {
        let list = RDKafkaTopicPartitionList(capacity: topics.count)
        for topic in topics {
            list.add(topic: topic, partition: -1, offset: KafkaOffset.invalid)
        }
        let error = client.withHandle { handle in
            list.withPointer { rd_kafka_subscribe(handle, $0) }
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let names = topics.map { "'\($0)'" }.joined(separator: ", ")
            throw KafkaError.rdkafka("subscribe to \(names)", error, client: client)
        }
    }

    /// Drops the subscription; the revoke arrives inside a later `poll` or `close`.
    public func unsubscribe() throws {
        let error = client.withHandle { rd_kafka_unsubscribe($0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka("unsubscribe", error, client: client)
        }
    }

    /// Fills `batch` with up to `maxMessages` (at most its capacity): waits up to `timeout` for
    /// the first message, then takes what is already fetched without waiting more.
    ///
    /// Rebalances that happen meanwhile are handed to `onRebalance` synchronously, before the
    /// messages that follow them; without a handler, assigned partitions start from their
    /// committed offsets. Errors thrown by the handler are rethrown here after the batch is filled.
    /// Throws a fatal `KafkaError` if the consumer can no longer work, and if it is closed.
    public func poll(
        into batch: KafkaMessageBatch,
        maxMessages: Int = .max,
        timeout: Duration,
        onRebalance: KafkaRebalanceHandler? = nil
    ) throws {
        let result: Result<Void, any Error>? = pollLock.withLockIfAvailable { isClosed in
            guard !isClosed else {
                return .failure(
                    KafkaError.rdkafka("poll consumer", RD_KAFKA_RESP_ERR__STATE, reason: "closed")
                )
            }
            return Result {
                try withRebalanceScope(onRebalance) {
                    try batch.fill(from: queue, maxMessages: maxMessages, timeout: timeout)
                }
            }
        }
        guard let result else {
            preconditionFailure("KafkaConsumer.poll called from two threads at once")
        }
        try result.get()
    }

    /// Polls into a new batch of capacity `maxMessages`; see `poll(into:maxMessages:timeout:onRebalance:)`.
    public func poll(
        maxMessages: Int,
        timeout: Duration,
        onRebalance: KafkaRebalanceHandler? = nil
    ) throws -> KafkaMessageBatch {
        let batch = KafkaMessageBatch(capacity: maxMessages)
        try poll(into: batch, maxMessages: maxMessages, timeout: timeout, onRebalance: onRebalance)
        return batch
    }

    /// How many events (fetched messages, mostly) wait in the consumer queue for the next `poll`.
    public var queuedEventCount: Int { queue.length }

    /// Leaves the group: delivers the final revoke to `onRebalance`, commits nothing on its own
    /// (auto commit is off unless enabled), and stops fetching. Waits for a `poll` running on
    /// another thread to return first. Safe to call twice; later calls do nothing.
    public func close(onRebalance: KafkaRebalanceHandler? = nil) throws {
        let result: Result<Void, any Error> = pollLock.withLock { isClosed in
            guard !isClosed else { return .success(()) }
            isClosed = true
            return Result {
                try withRebalanceScope(onRebalance) {
                    let error = client.withHandle { rd_kafka_consumer_close($0) }
                    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        throw KafkaError.rdkafka(
                            "close consumer of group '\(groupID)'",
                            error,
                            client: client
                        )
                    }
                }
            }
        }
        try result.get()
    }

    /// True once `close` has run.
    public var isClosed: Bool { pollLock.withLock { $0 } }

    /// The partitions currently assigned to this consumer, sorted.
    public func assignment() throws -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let error = client.withHandle { rd_kafka_assignment($0, &list) }
        defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw KafkaError.rdkafka("get the assignment", error, client: client)
        }
        return RDKafkaTopicPartitionList.offsets(of: list).map(\.topicPartition).sorted()
    }

    /// The rebalance protocol the group settled on, or nil before the first join.
    public var rebalanceProtocol: KafkaRebalanceProtocol? {
        client.withHandle { handle in
            rd_kafka_rebalance_protocol(handle).flatMap {
                KafkaRebalanceProtocol(rawValue: String(cString: $0))
            }
        }
    }

    /// This member's id in the group, empty before the first join.
    public var memberID: String {
        client.withHandle { handle in
            guard let id = rd_kafka_memberid(handle) else { return "" }
            defer { rd_kafka_mem_free(handle, id) }
            return String(cString: id)
        }
    }

    /// Moves the read position of assigned partitions; the next poll returns records from there.
    ///
    /// Waits up to `timeout` for the seek to take effect. To choose where newly assigned
    /// partitions start, return offsets from the rebalance handler instead.
    public func seek(_ offsets: [KafkaTopicPartitionOffset], timeout: Duration) throws {
        let list = RDKafkaTopicPartitionList(offsets)
        let failure = client.withHandle { handle in
            list.withPointer { rd_kafka_seek_partitions(handle, $0, timeout.milliseconds) }
        }
        if let failure { throw KafkaError.consuming("seek", failure, client: client) }
        if let error = list.firstError("seek", client: client) { throw error }
    }

    /// Stores offsets (next offset to read, per partition) for the next commit; with
    /// `enable.auto.commit=true` librdkafka commits them in the background.
    public func storeOffsets(_ offsets: [KafkaTopicPartitionOffset]) throws {
        let list = RDKafkaTopicPartitionList(offsets)
        let error = client.withHandle { handle in
            list.withPointer { rd_kafka_offsets_store(handle, $0) }
        }
        if let failure = list.firstError("store offset for", client: client) { throw failure }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka("store offsets", error, client: client)
        }
    }

    /// Commits `offsets` (next offset to read, per partition) to the group and waits for the
    /// coordinator's answer. Callable from any thread, and from a revoke handler.
    public func commit(_ offsets: [KafkaTopicPartitionOffset]) throws {
        guard !offsets.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(offsets)
        let error = client.withHandle { handle in
            list.withPointer { rd_kafka_commit(handle, $0, 0) }
        }
        if let failure = list.firstError("commit offset for", client: client) { throw failure }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka("commit offsets of group '\(groupID)'", error, client: client)
        }
    }

    /// Commits the offsets stored with `storeOffsets` and waits for the answer; does nothing when
    /// none are stored.
    public func commitStoredOffsets() throws {
        let error = client.withHandle { rd_kafka_commit($0, nil, 0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR || error == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw KafkaError.rdkafka(
                "commit stored offsets of group '\(groupID)'",
                error,
                client: client
            )
        }
    }

    /// Stops fetching `partitions` until `resume`; records already fetched stay queued.
    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        try changeFetching(partitions, operation: "pause") { rd_kafka_pause_partitions($0, $1) }
    }

    /// Resumes fetching paused `partitions`.
    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        try changeFetching(partitions, operation: "resume") { rd_kafka_resume_partitions($0, $1) }
    }

    /// The next offset to be returned by poll for each of `partitions`; partitions without a
    /// position yet (nothing consumed) are left out.
    public func positions(of partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition:
        Int64]
    {
        let list = RDKafkaTopicPartitionList(partitions)
        let error = client.withHandle { handle in list.withPointer { rd_kafka_position(handle, $0) }
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka("get positions", error, client: client)
        }
        return Self.validOffsets(list)
    }

    /// The group's committed offsets for `partitions`, asked of the coordinator; partitions
    /// without a committed offset are left out.
    public func committedOffsets(
        of partitions: [KafkaTopicPartition],
        timeout: Duration
    ) throws -> [KafkaTopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(partitions)
        let error = client.withHandle { handle in
            list.withPointer { rd_kafka_committed(handle, $0, timeout.milliseconds) }
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(
                "fetch committed offsets of group '\(groupID)'",
                error,
                client: client
            )
        }
        if let failure = list.firstError("fetch committed offset for", client: client) {
            throw failure
        }
        return Self.validOffsets(list)
    }

    /// Asks the partition's leader for its current low and high watermarks.
    public func queryWatermarks(topic: String, partition: Int32, timeout: Duration) throws
        -> KafkaWatermarks
    {
        try client.queryWatermarks(topic: topic, partition: partition, timeout: timeout)
    }

    /// The watermarks librdkafka last saw for an assigned partition, without a request: the high
    /// watermark comes with every fetch, the low one only with `statistics.interval.ms` set.
    /// Nil when nothing is known yet.
    public func cachedWatermarks(topic: String, partition: Int32) -> KafkaWatermarks? {
        var low: Int64 = KafkaOffset.invalid
        var high: Int64 = KafkaOffset.invalid
        let error = client.withHandle {
            rd_kafka_get_watermark_offsets($0, topic, partition, &low, &high)
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, high != KafkaOffset.invalid else { return nil }
        return KafkaWatermarks(low: low, high: high)
    }

    private func changeFetching(
        _ partitions: [KafkaTopicPartition],
        operation: String,
        _ call: (OpaquePointer, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) ->
            rd_kafka_resp_err_t
    ) throws {
        let list = RDKafkaTopicPartitionList(partitions)
        let error = client.withHandle { handle in list.withPointer { call(handle, $0) } }
        if let failure = list.firstError(operation, client: client) { throw failure }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka("\(operation) partitions", error, client: client)
        }
    }

    /// Installs the caller's rebalance handler for the duration of `body`, then rethrows the
    /// first error the handler threw or that applying an assignment raised.
    private func withRebalanceScope(_ handler: KafkaRebalanceHandler?, _ body: () throws -> Void)
        throws
    {
        guard let handler else {
            try run(body, in: RDKafkaRebalanceScope(handler: nil))
            return
        }
        try withoutActuallyEscaping(handler) { escapable in
            try run(body, in: RDKafkaRebalanceScope(handler: escapable))
        }
    }

    private func run(_ body: () throws -> Void, in scope: RDKafkaRebalanceScope) throws {
        client.callbacks.rebalanceScope = scope
        defer { client.callbacks.rebalanceScope = nil }
        try body()
        if let error = scope.error { throw error }
    }

    private static func validOffsets(_ list: RDKafkaTopicPartitionList) -> [KafkaTopicPartition:
        Int64]
    {
        var result: [KafkaTopicPartition: Int64] = [:]
        for element in list.offsets where element.offset >= 0 {
            result[element.topicPartition] = element.offset
        }
        return result
    }
}
