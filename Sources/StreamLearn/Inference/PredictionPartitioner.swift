import Kafka

/// Maps an input partition to the predictions partition that holds its predictions.
///
/// Input partition p of any inference topic goes to predictions partition `p mod N`, N being
/// the predictions topic's partition count: the identity when N equals the input's count,
/// shared partitions when N is smaller (the source headers still tell the inputs apart), and
/// unused partitions when it is larger. The mapping depends on N alone, so every instance
/// computes the same one; it changes when partitions are added to the predictions topic, which
/// is why that needs every instance stopped cleanly first (docs/predictions.md).
public struct PredictionPartitioner: Sendable, Equatable {
    /// Partitions of the predictions topic.
    public let partitionCount: Int32

    /// A mapping onto `partitionCount` partitions (at least 1).
    public init(partitionCount: Int32) {
        precondition(partitionCount >= 1, "a predictions topic has at least one partition")
        self.partitionCount = partitionCount
    }

    /// The predictions partition of input partition `partition` (of any topic).
    public func predictionPartition(forInput partition: Int32) -> Int32 {
        partition % partitionCount
    }

    /// The input partitions among `inputs` that map to each predictions partition.
    public func group(_ inputs: some Sequence<KafkaTopicPartition>) -> [Int32: [KafkaTopicPartition]] {
        Dictionary(grouping: inputs, by: { predictionPartition(forInput: $0.partition) })
    }
}
