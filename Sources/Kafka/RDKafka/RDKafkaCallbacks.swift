import CRdKafka
import Locking
import Synchronization

/// What librdkafka's C callbacks reach through a client's opaque pointer.
///
/// One instance per client. `RDKafkaClient` holds it strongly and destroys its `rd_kafka_t`
/// in its own `deinit`, so the pointer librdkafka keeps stays valid for every callback, including
/// those during `rd_kafka_destroy`.
///
/// Thread safety (why `@unchecked Sendable` is honest): the log callback runs on librdkafka's
/// internal threads, the error, delivery and rebalance callbacks on whichever thread polls.
/// Handlers are immutable and `@Sendable`, counters are atomics, the recorded errors sit behind a
/// mutex, and `rebalanceScope` is set and read only by the one thread inside the consumer's poll
/// or close, which the consumer enforces with its poll lock.
final class RDKafkaCallbacks: @unchecked Sendable {
    let logHandler: KafkaLogHandler?
    let deliveryHandler: KafkaDeliveryHandler?

    /// Delivery reports counted since the client was created, successful and failed.
    let deliveredCount = Atomic<Int>(0)
    let failedCount = Atomic<Int>(0)

    /// The caller's rebalance handler while a consumer polls or closes; nil otherwise.
    var rebalanceScope: RDKafkaRebalanceScope?

    private let recorded = Locked(Recorded())

    private struct Recorded {
        var lastBrokerError: String?
        var firstDeliveryError: KafkaError?
    }

    init(logHandler: KafkaLogHandler?, deliveryHandler: KafkaDeliveryHandler? = nil) {
        self.logHandler = logHandler
        self.deliveryHandler = deliveryHandler
    }

    /// The newest failure to reach a broker, such as
    /// "127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused".
    var lastBrokerError: String? { recorded.withLock { $0.lastBrokerError } }

    /// The first failed delivery report since the client was created.
    var firstDeliveryError: KafkaError? { recorded.withLock { $0.firstDeliveryError } }

    /// Installs the C callbacks and this instance as the conf's opaque pointer.
    func install(on conf: OpaquePointer, delivery: Bool, rebalance: Bool) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let handle, let callbacks = RDKafkaCallbacks.of(rd_kafka_opaque(handle)) else {
                return
            }
            callbacks.log(level: level, facility: facility, message: message)
        }
        rd_kafka_conf_set_error_cb(conf) { _, error, reason, opaque in
            RDKafkaCallbacks.of(opaque)?.clientError(
                rd_kafka_resp_err_t(rawValue: error),
                reason: reason
            )
        }
        if delivery {
            rd_kafka_conf_set_dr_msg_cb(conf) { handle, message, opaque in
                guard let handle, let message else { return }
                RDKafkaCallbacks.of(opaque)?.delivered(message, handle: handle)
            }
        }
        if rebalance {
            rd_kafka_conf_set_rebalance_cb(conf) { handle, error, partitions, opaque in
                guard let handle, let partitions else { return }
                RDKafkaCallbacks.of(opaque)?.rebalance(
                    handle: handle,
                    error: error,
                    partitions: partitions
                )
            }
        }
    }

    private static func of(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbacks? {
        opaque.map { Unmanaged<RDKafkaCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }

    private func log(
        level: Int32,
        facility: UnsafePointer<CChar>?,
        message: UnsafePointer<CChar>?
    ) {
        let facility = facility.map { String(cString: $0) } ?? ""
        let message = message.map { String(cString: $0) } ?? ""
        // Connection failures are logged as FAIL at LOG_ERR or LOG_WARNING; they name the broker,
        // which a later timeout cannot.
        if facility == "FAIL" && level <= 4 {
            let text = Self.withoutThreadPrefix(message)
            recorded.withLock { $0.lastBrokerError = text }
        }
        logHandler?(level, facility, message)
    }

    private func clientError(_ error: rd_kafka_resp_err_t, reason: UnsafePointer<CChar>?) {
        let code = KafkaError.Code(error)
        let reason = reason.map { String(cString: $0) } ?? code.text
        if code == .transport || code == .resolve {
            recorded.withLock { $0.lastBrokerError = reason }
        }
        logHandler?(code == .fatal ? 3 : 4, "ERROR", "\(reason) (\(code.name))")
    }

    private func delivered(_ message: UnsafePointer<rd_kafka_message_t>, handle: OpaquePointer) {
        let error = message.pointee.err
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            deliveredCount.add(1, ordering: .relaxed)
            // Counting is all a bulk load needs; a report is built only for a handler.
            guard deliveryHandler != nil else { return }
        } else {
            failedCount.add(1, ordering: .relaxed)
        }
        let topic = String(cString: rd_kafka_topic_name(message.pointee.rkt))
        let partition = message.pointee.partition
        var failure: KafkaError?
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            let destination =
                partition >= 0
                ? "\(KafkaTopicPartition(topic: topic, partition: partition))" : "'\(topic)'"
            let operation = "deliver message to \(destination)"
            let fatal =
                KafkaError.Code(error) == .fatal
                ? KafkaError.fatalError(operation, handle: handle) : nil
            let reported = fatal ?? KafkaError.rdkafka(operation, error)
            recorded.withLock { recorded in
                if recorded.firstDeliveryError == nil { recorded.firstDeliveryError = reported }
            }
            failure = reported
        }
        let offset = message.pointee.offset
        deliveryHandler?(
            KafkaDeliveryReport(
                topic: topic,
                partition: partition,
                offset: offset >= 0 ? offset : nil,
                error: failure,
                tag: UInt(bitPattern: message.pointee._private)
            )
        )
    }

    /// librdkafka prefixes lines with "[thrd:NAME]: " when `log.thread.name` is on.
    private static func withoutThreadPrefix(_ message: String) -> String {
        guard message.hasPrefix("[thrd:"), let end = message.firstRange(of: "]: ") else {
            return message
        }
        return String(message[end.upperBound...])
    }
}
