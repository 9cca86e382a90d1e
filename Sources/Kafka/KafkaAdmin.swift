import CRdKafka

/// Cluster administration: create and describe topics, read a group's committed offsets and
/// its lag.
///
/// Every call takes a `timeout` for the whole call, however many requests it makes, and fails
/// with a `KafkaError` whose `isBrokerUnavailable` is true when no broker answered in time; its
/// description then carries the newest connection failure, which names the broker.
///
/// Threads: all methods may be called from any thread; the admin holds only an immutable
/// reference to a thread-safe client, so it is Sendable.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient

    /// An admin with its own client connection.
    public init(configuration: KafkaConfiguration, logHandler: KafkaLogHandler? = nil) throws {
        client = try RDKafkaClient(
            role: .producer,
            configuration: configuration,
            callbacks: RDKafkaCallbacks(logHandler: logHandler)
        )
    }

    /// An admin that shares `producer`'s client and connections (it keeps the client alive).
    public init(sharing producer: KafkaProducer) {
        client = producer.sharedClient
    }

    /// Brokers and topics as the cluster reports them.
    public func metadata(timeout: Duration) throws -> KafkaClusterMetadata {
        try client.metadata(timeout: timeout)
    }

    /// Describes `names` (all topics except internal ones when nil): partitions, leaders,
    /// replicas and, with `includeWatermarks`, each partition's low and high watermarks.
    ///
    /// Throws UNKNOWN_TOPIC_OR_PART for a named topic the cluster does not have. Never creates
    /// a topic, whatever the broker's auto-creation setting.
    public func describeTopics(
        _ names: [String]? = nil,
        includeWatermarks: Bool = true,
        timeout: Duration
    ) throws -> [KafkaTopicDescription] {
        let deadline = RDKafkaDeadline(timeout)
        let metadata = try client.metadata(timeout: deadline.remaining)
        var topics: [KafkaTopicDescription]
        if let names {
            topics = try names.map { name in
                guard let topic = metadata.topics.first(where: { $0.name == name }) else {
                    throw KafkaError.rdkafka(
                        "describe topic '\(name)'",
                        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                    )
                }
                return topic
            }
        } else {
            topics = metadata.topics.filter { !$0.name.hasPrefix("__") }
        }
        guard includeWatermarks else { return topics }
        for topicIndex in topics.indices {
            for partitionIndex in topics[topicIndex].partitions.indices {
                let partition = topics[topicIndex].partitions[partitionIndex]
                guard partition.error == nil else { continue }
                topics[topicIndex].partitions[partitionIndex].watermarks =
                    try client.queryWatermarks(
                        topic: topics[topicIndex].name,
                        partition: partition.partition,
                        timeout: deadline.remaining
                    )
            }
        }
        return topics
    }

    /// Creates a topic with the CreateTopics API and waits for the controller's answer.
    ///
    /// `replicationFactor` -1 takes the broker's default. Throws TOPIC_ALREADY_EXISTS when it
    /// exists, and `KafkaError.unsupportedByBroker` when the cluster has no controller among its
    /// brokers, as librdkafka's mock cluster (the embedded broker) does: there topics come from
    /// the broker's own topic list or from auto-creation.
    public func createTopic(
        _ name: String,
        partitions: Int32,
        replicationFactor: Int32 = -1,
        timeout: Duration
    ) throws {
        let operation = "create topic '\(name)'"
        let deadline = RDKafkaDeadline(timeout)
        let metadata = try client.metadata(timeout: deadline.remaining)
        let controller = client.withHandle {
            rd_kafka_controllerid($0, deadline.remaining.milliseconds)
        }
        guard metadata.brokers.contains(where: { $0.id == controller }) else {
            let brokers = metadata.brokers.map { String($0.id) }.joined(separator: ", ")
            throw KafkaError.unsupportedByBroker(
                operation: operation,
                reason:
                    "the cluster reports controller \(controller), which is none of its brokers (\(brokers)), "
                    + "so it cannot create topics through the admin API"
            )
        }

        let newTopic = try withErrorBuffer { buffer in
            rd_kafka_NewTopic_new(
                name,
                partitions,
                replicationFactor,
                buffer.baseAddress,
                buffer.count
            )
        } orThrow: { reason in
            KafkaError.rdkafka(operation, RD_KAFKA_RESP_ERR__INVALID_ARG, reason: reason)
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let event = try runAdminRequest(
            operation,
            RD_KAFKA_ADMIN_OP_CREATETOPICS,
            deadline: deadline
        ) { call in
            var topics: [OpaquePointer?] = [newTopic]
            rd_kafka_CreateTopics(call.handle, &topics, 1, call.options, call.queue)
        }
        defer { rd_kafka_event_destroy(event) }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
            let topics = rd_kafka_CreateTopics_result_topics(result, &count)
        else {
            throw KafkaError.rdkafka(
                operation,
                RD_KAFKA_RESP_ERR__BAD_MSG,
                reason: "no result in the response"
            )
        }
        for topic in UnsafeBufferPointer(start: topics, count: count) {
            let error = rd_kafka_topic_result_error(topic)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let reason = rd_kafka_topic_result_error_string(topic).map { String(cString: $0) }
                throw KafkaError.rdkafka(operation, error, reason: reason, client: client)
            }
        }
    }

    /// The offsets group `group` has committed: for every partition of `topics`, or for every
    /// partition it has committed when `topics` is nil. Partitions without a commit are left out.
    ///
    /// Uses the ListConsumerGroupOffsets API. The mock cluster answers a request for "all
    /// partitions" with none, so when that comes back empty, the partitions of every topic in
    /// the metadata are asked for explicitly.
    public func listGroupOffsets(
        group: String,
        topics: [String]? = nil,
        timeout: Duration
    ) throws -> [KafkaTopicPartition: Int64] {
        let deadline = RDKafkaDeadline(timeout)
        if let topics {
            let partitions = try describeTopics(
                topics,
                includeWatermarks: false,
                timeout: deadline.remaining
            )
            return try fetchGroupOffsets(
                group: group,
                partitions: Self.partitions(of: partitions),
                deadline: deadline
            )
        }
        let everything = try fetchGroupOffsets(group: group, partitions: nil, deadline: deadline)
        guard everything.isEmpty else { return everything }
        let all = try describeTopics(includeWatermarks: false, timeout: deadline.remaining)
        return try fetchGroupOffsets(
            group: group,
            partitions: Self.partitions(of: all),
            deadline: deadline
        )
    }

    /// Per partition: the group's committed offset, the log-end offset and the lag between
    /// them, sorted by topic and partition, as `kafka-consumer-groups --describe` shows them.
    ///
    /// Covers every partition of `topics`, or when nil, every partition of the topics in which
    /// the group has committed anything.
    public func lag(group: String, topics: [String]? = nil, timeout: Duration) throws
        -> [KafkaPartitionLag]
    {
        let deadline = RDKafkaDeadline(timeout)
        let committed = try listGroupOffsets(
            group: group,
            topics: topics,
            timeout: deadline.remaining
        )
        let names = topics ?? Array(Set(committed.keys.map(\.topic))).sorted()
        guard !names.isEmpty else { return [] }
        let described = try describeTopics(
            names,
            includeWatermarks: true,
            timeout: deadline.remaining
        )
        return described.flatMap { topic in
            topic.partitions.map { partition in
                let key = KafkaTopicPartition(topic: topic.name, partition: partition.partition)
                return KafkaPartitionLag(
                    topicPartition: key,
                    committedOffset: committed[key],
                    watermarks: partition.watermarks
                )
            }
        }
    }

    private func fetchGroupOffsets(
        group: String,
        partitions: [KafkaTopicPartition]?,
        deadline: RDKafkaDeadline
    ) throws -> [KafkaTopicPartition: Int64] {
        let operation = "list committed offsets of group '\(group)'"
        if let partitions, partitions.isEmpty { return [:] }
        let list = partitions.map { RDKafkaTopicPartitionList($0) }
        guard
            let request = list.map({
                $0.withPointer { rd_kafka_ListConsumerGroupOffsets_new(group, $0) }
            })
                ?? rd_kafka_ListConsumerGroupOffsets_new(group, nil)
        else {
            throw KafkaError.rdkafka(operation, RD_KAFKA_RESP_ERR__INVALID_ARG)
        }
        defer { rd_kafka_ListConsumerGroupOffsets_destroy(request) }
        let api = RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS
        let event = try runAdminRequest(operation, api, deadline: deadline) { call in
            var requests: [OpaquePointer?] = [request]
            rd_kafka_ListConsumerGroupOffsets(call.handle, &requests, 1, call.options, call.queue)
        }
        defer { rd_kafka_event_destroy(event) }
        var count = 0
        guard let result = rd_kafka_event_ListConsumerGroupOffsets_result(event),
            let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count)
        else {
            throw KafkaError.rdkafka(
                operation,
                RD_KAFKA_RESP_ERR__BAD_MSG,
                reason: "no result in the response"
            )
        }
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for groupResult in UnsafeBufferPointer(start: groups, count: count) {
            if let error = rd_kafka_group_result_error(groupResult) {
                // The result owns this error object; read it without destroying it.
                throw KafkaError.failed(
                    operation: operation,
                    code: KafkaError.Code(rd_kafka_error_code(error)),
                    reason: String(cString: rd_kafka_error_string(error)),
                    isFatal: rd_kafka_error_is_fatal(error) != 0,
                    isRetriable: rd_kafka_error_is_retriable(error) != 0,
                    brokerError: nil
                )
            }
            guard let partitions = rd_kafka_group_result_partitions(groupResult) else { continue }
            for element in RDKafkaTopicPartitionList.elements(of: partitions) {
                let key = KafkaTopicPartition(
                    topic: String(cString: element.topic),
                    partition: element.partition
                )
                guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError.rdkafka("\(operation) for \(key)", element.err, client: client)
                }
                if element.offset >= 0 { offsets[key] = element.offset }
            }
        }
        return offsets
    }

    /// Runs one admin request on a temporary queue and returns its result event, which the
    /// caller destroys. Throws the event's error, or a timeout when none arrived by `deadline`.
    private func runAdminRequest(
        _ operation: String,
        _ api: rd_kafka_admin_op_t,
        deadline: RDKafkaDeadline,
        _ start: (RDKafkaAdminCall) -> Void
    ) throws -> OpaquePointer {
        try client.withHandle { handle in
            let queue = rd_kafka_queue_new(handle)!
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle, api)!
            defer { rd_kafka_AdminOptions_destroy(options) }
            let milliseconds = deadline.remaining.milliseconds
            _ = withErrorBuffer { buffer in
                rd_kafka_AdminOptions_set_request_timeout(
                    options,
                    milliseconds,
                    buffer.baseAddress,
                    buffer.count
                )
            }
            if api == RD_KAFKA_ADMIN_OP_CREATETOPICS {
                // Wait for the topic to exist on the controller, not just for the request to land.
                _ = withErrorBuffer { buffer in
                    rd_kafka_AdminOptions_set_operation_timeout(
                        options,
                        milliseconds,
                        buffer.baseAddress,
                        buffer.count
                    )
                }
            }
            start(RDKafkaAdminCall(handle: handle, options: options, queue: queue))
            // The request timeout makes librdkafka post an error event; the margin covers its
            // own scheduling.
            guard let event = rd_kafka_queue_poll(queue, milliseconds &+ 1000) else {
                throw KafkaError.rdkafka(operation, RD_KAFKA_RESP_ERR__TIMED_OUT, client: client)
            }
            let error = rd_kafka_event_error(event)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let reason = rd_kafka_event_error_string(event).map { String(cString: $0) }
                rd_kafka_event_destroy(event)
                throw KafkaError.rdkafka(operation, error, reason: reason, client: client)
            }
            return event
        }
    }

    private static func partitions(of topics: [KafkaTopicDescription]) -> [KafkaTopicPartition] {
        topics.flatMap { topic in
            topic.partitions.map { KafkaTopicPartition(topic: topic.name, partition: $0.partition) }
        }
    }
}

/// One partition's consumer-group lag.
public struct KafkaPartitionLag: Sendable, Hashable {
    public let topicPartition: KafkaTopicPartition

    /// The group's committed offset (next record to read), or nil when it has none ("-").
    public let committedOffset: Int64?

    /// The partition's watermarks; nil when the partition had an error (no leader).
    public let watermarks: KafkaWatermarks?

    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }

    /// The high watermark: the offset the next produced record will get.
    public var logEndOffset: Int64? { watermarks?.high }

    /// Records between the committed offset and the log end, or nil without a committed offset.
    public var lag: Int64? {
        guard let committedOffset, let logEndOffset else { return nil }
        return Swift.max(0, logEndOffset - committedOffset)
    }
}

/// What an admin request is started with: the client handle, its options and the queue its
/// result event arrives on; valid only inside `runAdminRequest`.
struct RDKafkaAdminCall {
    let handle: OpaquePointer
    let options: OpaquePointer
    let queue: OpaquePointer
}

/// A point in time by which a multi-request call must finish.
struct RDKafkaDeadline {
    private let end: ContinuousClock.Instant

    init(_ timeout: Duration) {
        end = .now + timeout
    }

    /// Time left, at least 1 ms so that librdkafka still makes one attempt.
    var remaining: Duration {
        Swift.max(end - .now, .milliseconds(1))
    }
}

/// Calls `body` with a scratch buffer for librdkafka's error text.
private func withErrorBuffer<Result>(_ body: (UnsafeMutableBufferPointer<CChar>) -> Result)
    -> Result
{
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
        buffer[0] = 0
        return body(buffer)
    }
}

/// Calls `body` with an error buffer; if it returns nil, throws `makeError` of the buffer's text.
private func withErrorBuffer<Value>(
    _ body: (UnsafeMutableBufferPointer<CChar>) -> Value?,
    orThrow makeError: (String) -> KafkaError
) throws -> Value {
    try withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
        buffer[0] = 0
        guard let value = body(buffer) else {
            throw makeError(String(cString: buffer.baseAddress!))
        }
        return value
    }
}
