import CRdKafka

/// Owns one `rd_kafka_t` and the callbacks it reaches; destroys the handle in `deinit`.
///
/// Everything that must be released before the handle (topic handles, queues, messages)
/// holds a strong reference to this instance, so `rd_kafka_destroy` runs only after them.
/// Thread safety: librdkafka's client API is thread-safe; the wrappers document which of
/// their methods must stay on one thread.
final class RDKafkaClient: @unchecked Sendable {
    enum Role {
        case producer, consumer

        var cValue: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    let callbacks: RDKafkaCallbacks
    private let handle: OpaquePointer

    /// librdkafka's name of this instance, such as "rdkafka#consumer-2".
    let name: String

    /// Creates the handle; librdkafka's threads start here and log through `callbacks`.
    init(
        role: Role,
        configuration: KafkaConfiguration,
        callbacks: RDKafkaCallbacks,
        installsRebalance: Bool = false
    ) throws {
        let config = try RDKafkaConfig.make(configuration)
        config.withPointer { conf in
            callbacks.install(on: conf, delivery: role == .producer, rebalance: installsRebalance)
        }
        let created = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
            buffer[0] = 0
            let handle = config.withPointer {
                rd_kafka_new(role.cValue, $0, buffer.baseAddress, buffer.count)
            }
            return (handle, String(cString: buffer.baseAddress!))
        }
        guard let handle = created.0 else {
            throw KafkaError.rdkafka(
                "create Kafka \(role)",
                rd_kafka_last_error(),
                reason: created.1
            )
        }
        config.relinquish()
        self.handle = handle
        self.callbacks = callbacks
        self.name = String(cString: rd_kafka_name(handle))
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// Scoped access to the handle, which stays owned by this instance.
    func withHandle<Result>(_ body: (OpaquePointer) throws -> Result) rethrows -> Result {
        try body(handle)
    }

    /// The fatal error raised on this client, if any.
    func fatalError(_ operation: String) -> KafkaError? {
        KafkaError.fatalError(operation, handle: handle)
    }

    /// Asks the partition's leader for its low and high watermarks.
    func queryWatermarks(topic: String, partition: Int32, timeout: Duration) throws
        -> KafkaWatermarks
    {
        var low: Int64 = 0
        var high: Int64 = 0
        let error = rd_kafka_query_watermark_offsets(
            handle,
            topic,
            partition,
            &low,
            &high,
            timeout.milliseconds
        )
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let operation =
                "query watermarks of \(KafkaTopicPartition(topic: topic, partition: partition))"
            throw KafkaError.rdkafka(operation, error, client: self)
        }
        return KafkaWatermarks(low: low, high: high)
    }

    /// The cluster's brokers and topics as one Metadata request reports them.
    ///
    /// Asks for all topics, which never auto-creates one (asking for a named topic may).
    func metadata(timeout: Duration) throws -> KafkaClusterMetadata {
        var pointer: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(handle, 1, nil, &pointer, timeout.milliseconds)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata = pointer else {
            throw KafkaError.rdkafka("fetch cluster metadata", error, client: self)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        return KafkaClusterMetadata(metadata.pointee)
    }
}

extension Duration {
    /// Whole milliseconds for a C timeout argument, rounded up so that a short positive duration
    /// never becomes "do not wait", and clamped to `Int32`.
    var milliseconds: Int32 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }
}
