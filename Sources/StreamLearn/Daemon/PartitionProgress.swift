import StreamLearnCore

/// What the training loop knows about one partition: where to continue and what it has learned
/// from it.
///
/// `nextOffset` is the offset of the next record to train, or nil while unknown (a partition
/// assigned without a checkpoint entry, before its first record). The counts are since the model was
/// created and are kept in checkpoint metadata, so that they survive restarts; with exactly-once
/// training `trainedCount + badCount` equals the records read from the partition.
struct PartitionProgress: Sendable, Equatable {
    let topicPartition: TopicPartition
    var nextOffset: Int64?
    /// Records decoded and trained on (each once, whatever epochs_per_poll).
    var trainedCount: Int64 = 0
    /// Records refused by the decoder.
    var badCount: Int64 = 0

    init(_ topicPartition: TopicPartition, nextOffset: Int64? = nil) {
        self.topicPartition = topicPartition
        self.nextOffset = nextOffset
    }

    /// Checkpoint metadata key of the trained count: "trained/TOPIC/PARTITION" ('/' never
    /// occurs in a topic name).
    static func trainedKey(_ topicPartition: TopicPartition) -> String {
        "trained/\(topicPartition.topic)/\(topicPartition.partition)"
    }

    /// Checkpoint metadata key of the bad-record count: "bad/TOPIC/PARTITION".
    static func badKey(_ topicPartition: TopicPartition) -> String {
        "bad/\(topicPartition.topic)/\(topicPartition.partition)"
    }

    /// The partition a "trained/..." or "bad/..." key names, with the key's kind.
    static func parseKey(_ key: String) -> (kind: Substring, TopicPartition)? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "trained" || parts[0] == "bad", !parts[1].isEmpty,
            let partition = Int32(parts[2]), partition >= 0
        else { return nil }
        return (parts[0], TopicPartition(topic: String(parts[1]), partition: partition))
    }
}
