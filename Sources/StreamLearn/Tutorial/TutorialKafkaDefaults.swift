import Kafka

/// The librdkafka properties that `train` and `evaluate` set unless `-X` sets them.
///
/// librdkafka prefetches up to `queued.max.messages.kbytes` (64 MiB by default) per client, and
/// each queued record costs roughly 500 bytes of memory beyond its payload, which alone would
/// exceed the commands' memory goal (50 MiB). 2 MiB of payload (about 11,000 SUSY records)
/// holds a tenth of a second of either command's work; when librdkafka stops fetching at that
/// bound, the commands restart it as soon as they run dry (see `PartitionTraining` and
/// `GroupEvaluation`), so the bound costs little speed.
enum TutorialKafkaDefaults {
    /// Prefetch bound for both commands.
    static let shared: KeyValuePairs<String, String> = [
        "queued.max.messages.kbytes": "2048"
    ]

    /// What `evaluate` adds: start a group's first run at the oldest record, as the tutorial's
    /// `auto.offset.reset=earliest`; report the end of each partition; and a short session, as
    /// the tutorial's 7 s, so that the member of a killed run is dropped within seconds instead
    /// of librdkafka's 45 s, which every later join of the group would wait for. 6 s is the
    /// shortest session a Kafka broker accepts by default (`group.min.session.timeout.ms`).
    static let evaluate: KeyValuePairs<String, String> = [
        "auto.offset.reset": "earliest",
        "enable.partition.eof": "true",
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "1000",
    ]

    /// The prefetch bound in bytes of payload that `configuration` sets (librdkafka's default,
    /// 64 MiB, when it sets none).
    static func prefetchBytes(_ configuration: KafkaConfiguration) -> Int {
        (configuration["queued.max.messages.kbytes"].flatMap(Int.init) ?? 65_536) * 1024
    }

    /// Whether a consumer that has taken `bytes` of payload since fetching last (re)started may
    /// have filled librdkafka's queue to its bound, after which librdkafka 2.0.2 stops fetching
    /// for up to a second (see `PartitionTraining`). Below that the queue cannot have been full,
    /// so a dry queue means a slow broker, and restarting its fetch would only throw away a
    /// response in flight.
    static func mayHaveStalled(afterTaking bytes: Int, bound: Int) -> Bool {
        bytes >= bound / 2
    }

    /// How long a join may take: the command's broker timeout plus a session, because a
    /// rebalance waits up to a session for members that went away without leaving.
    static func joinTimeout(_ configuration: KafkaConfiguration, brokerTimeout: Duration) -> Duration {
        let session = configuration["session.timeout.ms"].flatMap(Int.init) ?? 45_000
        return brokerTimeout + .milliseconds(session)
    }

    /// `handler` without librdkafka's notes that a property is ignored by a client of another
    /// kind: the admin client of a command shares the `-X` properties meant for its consumer.
    static func adminLogHandler(_ handler: @escaping KafkaLogHandler) -> KafkaLogHandler {
        { level, facility, message in
            guard facility != "CONFWARN" else { return }
            handler(level, facility, message)
        }
    }

    /// `configuration` with each of `defaults` added when its key is not set.
    static func applying(
        _ defaults: KeyValuePairs<String, String>,
        to configuration: KafkaConfiguration
    ) -> KafkaConfiguration {
        var result = configuration
        for (key, value) in defaults where !result.contains(key) {
            result[key] = value
        }
        return result
    }
}
