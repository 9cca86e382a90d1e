/// A partition of a topic.
public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// Orders by topic name, then partition number, as Kafka tools list them.
    public static func < (lhs: KafkaTopicPartition, rhs: KafkaTopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    /// "topic[partition]", the notation of librdkafka's logs.
    public var description: String { "'\(topic)'[\(partition)]" }
}

/// A partition with an offset: a position to start from, commit, store or seek to.
///
/// As everywhere in Kafka, a committed or stored offset is the offset of the next record to
/// read (the last processed offset plus one).
public struct KafkaTopicPartitionOffset: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public init(_ topicPartition: KafkaTopicPartition, offset: Int64) {
        self.init(topic: topicPartition.topic, partition: topicPartition.partition, offset: offset)
    }

    public var topicPartition: KafkaTopicPartition {
        KafkaTopicPartition(topic: topic, partition: partition)
    }

    public var description: String { "'\(topic)'[\(partition)]@\(offset)" }
}

/// librdkafka's logical offsets, for start offsets and seeks.
public enum KafkaOffset {
    /// The oldest record the broker still has (`RD_KAFKA_OFFSET_BEGINNING`).
    public static let beginning: Int64 = -2

    /// The next record to be produced (`RD_KAFKA_OFFSET_END`).
    public static let end: Int64 = -1

    /// The group's committed offset, or `auto.offset.reset` without one
    /// (`RD_KAFKA_OFFSET_STORED`).
    public static let stored: Int64 = -1000

    /// No offset (`RD_KAFKA_OFFSET_INVALID`).
    public static let invalid: Int64 = -1001
}

/// A partition's low and high watermarks: the first offset the broker still keeps, and the
/// offset the next produced record will get (the log-end offset).
public struct KafkaWatermarks: Sendable, Hashable {
    public var low: Int64
    public var high: Int64

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }

    /// Records currently kept: `high - low`.
    public var count: Int64 { high - low }
}
