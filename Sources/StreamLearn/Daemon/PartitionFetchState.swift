import Kafka

/// What one training partition has delivered since librdkafka last (re)started fetching it: the
/// poll thread's evidence that librdkafka may have stopped fetching it (see
/// `Daemon.restartStalledFetches`).
struct PartitionFetchState {
    /// The topic as librdkafka identifies it, compared without building a String per record.
    let topic: KafkaTopicIdentity
    let partition: KafkaTopicPartition
    /// Key and value bytes handed over since the fetch last started.
    var bytesSinceRestart = 0
    /// Whether the latest poll delivered records of this partition.
    var hasDelivered = false

    init(topic: KafkaTopicIdentity, partition: KafkaTopicPartition) {
        self.topic = topic
        self.partition = partition
    }
}
