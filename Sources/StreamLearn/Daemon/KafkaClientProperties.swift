import Kafka

/// The daemon's "kafka" section serves its consumers and its producers alike; librdkafka warns
/// about every property that the kind of client it creates does not read. These split the
/// section by client kind, and give producers the daemon's defaults.
extension KafkaConfiguration {
    /// Properties that only a consumer reads (exact names, and prefixes ending in a dot).
    private static let consumerOnlyProperties = [
        "group.id", "auto.offset.reset", "session.timeout.ms", "heartbeat.interval.ms",
        "max.poll.interval.ms", "partition.assignment.strategy", "group.instance.id", "queued.",
        "fetch.", "enable.partition.eof", "check.crcs", "isolation.level", "auto.commit.interval.ms",
        "enable.auto.commit", "enable.auto.offset.store", "coordinator.query.interval.ms",
        "group.protocol.type", "consume.callback.max.messages",
    ]

    /// Properties that only a producer reads.
    private static let producerOnlyProperties = [
        "linger.ms", "queue.buffering.", "compression.", "acks", "request.required.acks",
        "enable.idempotence", "enable.gapless.guarantee", "message.timeout.ms", "delivery.timeout.ms",
        "batch.", "transactional.id", "transaction.timeout.ms", "partitioner", "sticky.partitioning.linger.ms",
        "message.send.max.retries", "retries", "request.timeout.ms",
    ]

    /// These properties without the consumer-only ones, and compressed with lz4 unless they
    /// choose a codec: what a producer sharing the daemon's "kafka" section should be given.
    var producerProperties: KafkaConfiguration {
        var result = without(Self.consumerOnlyProperties)
        if !result.contains("compression.codec") && !result.contains("compression.type") {
            result["compression.codec"] = "lz4"
        }
        return result
    }

    /// These properties without the producer-only ones: what a consumer should be given.
    var consumerProperties: KafkaConfiguration {
        without(Self.producerOnlyProperties)
    }

    private func without(_ names: [String]) -> KafkaConfiguration {
        KafkaConfiguration(
            properties.filter { property in
                !names.contains { name in
                    property.key == name || (name.hasSuffix(".") && property.key.hasPrefix(name))
                }
            }
        )
    }
}
