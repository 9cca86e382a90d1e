import CRdKafka

/// A broker as the cluster's metadata lists it.
public struct KafkaBrokerDescription: Sendable, Hashable {
    public let id: Int32
    public let host: String
    public let port: Int32

    /// "host:port", as in `bootstrap.servers`.
    public var address: String { "\(host):\(port)" }
}

/// One partition of a topic: its leader and replicas, and its watermarks when they were asked for.
public struct KafkaPartitionDescription: Sendable, Equatable {
    public let partition: Int32

    /// The leader's broker id, or -1 when the partition has no leader.
    public let leader: Int32
    public let replicas: [Int32]
    public let inSyncReplicas: [Int32]

    /// The broker's error for this partition, such as LEADER_NOT_AVAILABLE.
    public let error: KafkaError?

    /// Low and high watermarks; nil unless `KafkaAdmin.describeTopics` queried them.
    public internal(set) var watermarks: KafkaWatermarks?
}

/// A topic with its partitions, ordered by partition number.
public struct KafkaTopicDescription: Sendable, Equatable {
    public let name: String
    public internal(set) var partitions: [KafkaPartitionDescription]

    /// The broker's error for the whole topic, such as UNKNOWN_TOPIC_OR_PART.
    public let error: KafkaError?
}

/// Brokers and topics as one Metadata response reports them, sorted by id and name.
public struct KafkaClusterMetadata: Sendable, Equatable {
    public let brokers: [KafkaBrokerDescription]
    public internal(set) var topics: [KafkaTopicDescription]

    /// The broker that answered, as librdkafka names it ("127.0.0.1:9092/1").
    public let originatingBroker: String

    /// Copies librdkafka's metadata, which the caller then destroys.
    init(_ metadata: rd_kafka_metadata) {
        brokers = Self.elements(metadata.brokers, metadata.broker_cnt)
            .map { KafkaBrokerDescription(id: $0.id, host: String(cString: $0.host), port: $0.port) }
            .sorted { $0.id < $1.id }
        topics = Self.elements(metadata.topics, metadata.topic_cnt)
            .map(Self.describe)
            .sorted { $0.name < $1.name }
        originatingBroker =
            metadata.orig_broker_name.map { String(cString: $0) } ?? "broker \(metadata.orig_broker_id)"
    }

    private static func describe(_ topic: rd_kafka_metadata_topic) -> KafkaTopicDescription {
        let name = String(cString: topic.topic)
        let partitions = elements(topic.partitions, topic.partition_cnt).map { partition in
            KafkaPartitionDescription(
                partition: partition.id,
                leader: partition.leader,
                replicas: Array(elements(partition.replicas, partition.replica_cnt)),
                inSyncReplicas: Array(elements(partition.isrs, partition.isr_cnt)),
                error: error("describe partition '\(name)'[\(partition.id)]", partition.err),
                watermarks: nil
            )
        }
        return KafkaTopicDescription(
            name: name,
            partitions: partitions.sorted { $0.partition < $1.partition },
            error: error("describe topic '\(name)'", topic.err)
        )
    }

    private static func elements<Element>(
        _ start: UnsafeMutablePointer<Element>?,
        _ count: Int32
    ) -> UnsafeBufferPointer<Element> {
        UnsafeBufferPointer(start: start, count: Int(count))
    }

    private static func error(_ operation: String, _ code: rd_kafka_resp_err_t) -> KafkaError? {
        code == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.rdkafka(operation, code)
    }
}
