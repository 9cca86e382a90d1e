/// One partition of one Kafka topic, as offsets maps and logs name it.
///
/// Ordered by topic name, then partition number, so that maps written from it (checkpoints,
/// JSON output) come out in a stable order.
public struct TopicPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        if lhs.topic != rhs.topic { return lhs.topic < rhs.topic }
        return lhs.partition < rhs.partition
    }

    /// "topic[partition]", as librdkafka's logs write it.
    public var description: String { "\(topic)[\(partition)]" }
}
