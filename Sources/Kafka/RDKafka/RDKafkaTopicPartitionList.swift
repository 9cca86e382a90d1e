import CRdKafka

/// Owns an `rd_kafka_topic_partition_list_t` built from Swift values.
final class RDKafkaTopicPartitionList {
    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int) {
        pointer = rd_kafka_topic_partition_list_new(Int32(clamping: capacity))
    }

    convenience init(_ partitions: some Collection<KafkaTopicPartition>) {
        self.init(capacity: partitions.count)
        for element in partitions {
            add(topic: element.topic, partition: element.partition, offset: KafkaOffset.invalid)
        }
    }

    convenience init(_ offsets: some Collection<KafkaTopicPartitionOffset>) {
        self.init(capacity: offsets.count)
        for element in offsets {
            add(topic: element.topic, partition: element.partition, offset: element.offset)
        }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    func add(topic: String, partition: Int32, offset: Int64) {
        rd_kafka_topic_partition_list_add(pointer, topic, partition).pointee.offset = offset
    }

    /// Scoped access to the list, which stays owned by this instance.
    func withPointer<Result>(
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> Result
    ) rethrows -> Result {
        try body(pointer)
    }

    /// The elements with their offsets, including logical ones such as `KafkaOffset.invalid`.
    var offsets: [KafkaTopicPartitionOffset] { Self.offsets(of: pointer) }

    /// The first per-partition error librdkafka recorded in the list, for `operation`.
    func firstError(_ operation: String, client: RDKafkaClient?) -> KafkaError? {
        Self.elements(of: pointer).first(where: { $0.err != RD_KAFKA_RESP_ERR_NO_ERROR }).map {
            let partition = KafkaTopicPartition(
                topic: String(cString: $0.topic),
                partition: $0.partition
            )
            return KafkaError.rdkafka("\(operation) \(partition)", $0.err, client: client)
        }
    }

    /// Copies a list that librdkafka owns (a rebalance or admin result) into Swift values.
    static func offsets(of list: UnsafePointer<rd_kafka_topic_partition_list_t>)
        -> [KafkaTopicPartitionOffset]
    {
        elements(of: list).map {
            KafkaTopicPartitionOffset(
                topic: String(cString: $0.topic),
                partition: $0.partition,
                offset: $0.offset
            )
        }
    }

    static func elements(
        of list: UnsafePointer<rd_kafka_topic_partition_list_t>
    ) -> UnsafeMutableBufferPointer<rd_kafka_topic_partition_t> {
        UnsafeMutableBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt))
    }
}
