import CRdKafka

/// Owns an `rd_kafka_conf_t` until `rd_kafka_new` takes it over.
///
/// The conf object is owned from the moment it is created, so a property that librdkafka
/// refuses halfway through never leaks it: the error propagates and `deinit` destroys it.
final class RDKafkaConfig {
    private var pointer: OpaquePointer?

    private init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }

    /// A conf object with every property of `configuration` set, in order.
    static func make(_ configuration: KafkaConfiguration) throws -> RDKafkaConfig {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError.rdkafka(
                "create Kafka configuration",
                RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE
            )
        }
        let owner = RDKafkaConfig(taking: conf)
        for property in configuration.properties {
            if let error = set(property.key, property.value, on: conf) { throw error }
        }
        return owner
    }

    /// Sets one property; returns librdkafka's refusal as an error, or nil when it was accepted.
    static func set(_ key: String, _ value: String, on conf: OpaquePointer) -> KafkaError? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
            buffer[0] = 0
            let result = rd_kafka_conf_set(conf, key, value, buffer.baseAddress, buffer.count)
            guard result != RD_KAFKA_CONF_OK else { return nil }
            return KafkaError.invalidProperty(
                name: key,
                reason: String(cString: buffer.baseAddress!)
            )
        }
    }

    /// Scoped access to the conf object, which stays owned by this instance.
    func withPointer<Result>(_ body: (OpaquePointer) throws -> Result) rethrows -> Result {
        guard let pointer else {
            preconditionFailure("conf object used after rd_kafka_new took it")
        }
        return try body(pointer)
    }

    /// Records that `rd_kafka_new` succeeded and now owns the conf object.
    func relinquish() {
        pointer = nil
    }
}
