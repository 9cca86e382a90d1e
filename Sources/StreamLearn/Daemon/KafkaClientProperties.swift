import Kafka

extension KafkaConfiguration {
    /// Properties that only a consumer reads (exact names, and prefixes ending in a dot).
    /// librdkafka warns about each of them when a producer is created with it.
    private static let consumerOnlyProperties = [
        "group.id", "auto.offset.reset", "session.timeout.ms", "heartbeat.interval.ms",
        "max.poll.interval.ms", "partition.assignment.strategy", "group.instance.id", "queued.",
        "fetch.", "enable.partition.eof", "check.crcs", "isolation.level", "auto.commit.interval.ms",
        "enable.auto.commit", "enable.auto.offset.store", "coordinator.query.interval.ms",
        "group.protocol.type", "consume.callback.max.messages",
    ]

    /// These properties without the consumer-only ones: what a producer sharing the daemon's
    /// "kafka" section should be given.
    var producerProperties: KafkaConfiguration {
        KafkaConfiguration(
            properties.filter { property in
                !Self.consumerOnlyProperties.contains { name in
                    property.key == name || (name.hasSuffix(".") && property.key.hasPrefix(name))
                }
            }
        )
    }
}
