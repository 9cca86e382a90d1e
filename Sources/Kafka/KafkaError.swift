import CRdKafka

/// An error from the Kafka layer, worded so that a person can act on it.
///
/// Errors that come from librdkafka keep its numeric code (`rd_kafka_resp_err_t`) and its name
/// (`rd_kafka_err2name`), and say whether librdkafka considers them fatal (the client instance is
/// unusable and must be recreated) or retriable (the same call may succeed later).
public enum KafkaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// librdkafka or a broker failed `operation` (a verb phrase such as "produce to 'susy-train'[1]").
    ///
    /// `brokerError` is the newest connection failure the client saw, if any: it names the broker
    /// when a call timed out because no broker answered.
    case failed(
        operation: String,
        code: Code,
        reason: String,
        isFatal: Bool,
        isRetriable: Bool,
        brokerError: String?
    )

    /// `rd_kafka_conf_set` refused a property; `reason` is librdkafka's text.
    case invalidProperty(name: String, reason: String)

    /// A flush ran out of time while `count` messages were still waiting for delivery.
    case undelivered(count: Int, timeout: Duration)

    /// The broker cannot perform `operation` at all, for example because it has no controller.
    ///
    /// librdkafka's mock cluster (the embedded broker) reports a controller that is not one of its
    /// brokers and does not implement the CreateTopics API; this case lets a command say so.
    case unsupportedByBroker(operation: String, reason: String)

    /// librdkafka's error code, or the closest local code for errors raised by this layer.
    public var code: Code {
        switch self {
        case .failed(_, let code, _, _, _, _): code
        case .invalidProperty: .invalidArgument
        case .undelivered: .timedOut
        case .unsupportedByBroker: .unsupportedFeature
        }
    }

    /// librdkafka's symbolic name of `code`, such as "NOT_LEADER_FOR_PARTITION" or "_TRANSPORT".
    public var name: String { code.name }

    /// True when the client instance is unusable after this error and must be recreated.
    public var isFatal: Bool {
        if case .failed(_, _, _, let isFatal, _, _) = self { return isFatal }
        return false
    }

    /// True when repeating the same call later may succeed.
    public var isRetriable: Bool {
        switch self {
        case .failed(_, _, _, _, let isRetriable, _): isRetriable
        case .undelivered: true
        case .invalidProperty, .unsupportedByBroker: false
        }
    }

    /// True when the error means that no broker could be reached or none answered in time.
    ///
    /// One-shot commands map this to exit status 69 (EX_UNAVAILABLE).
    public var isBrokerUnavailable: Bool {
        switch self {
        case .failed(_, let code, _, _, _, _): code.isBrokerUnavailable
        case .undelivered: true
        case .invalidProperty, .unsupportedByBroker: false
        }
    }

    public var description: String {
        switch self {
        case .failed(
            let operation,
            let code,
            let reason,
            let isFatal,
            let isRetriable,
            let brokerError
        ):
            var qualifiers = [code.name]
            if isFatal { qualifiers.append("fatal") }
            if isRetriable { qualifiers.append("retriable") }
            var text = "Failed to \(operation): \(reason) (\(qualifiers.joined(separator: ", ")))"
            if let brokerError { text += "; last broker error: \(brokerError)" }
            return text
        case .invalidProperty(let name, let reason):
            return "Failed to set Kafka property '\(name)': \(reason)"
        case .undelivered(let count, let timeout):
            let noun = count == 1 ? "message" : "messages"
            return "Failed to flush producer: \(count) \(noun) still undelivered after \(timeout)"
        case .unsupportedByBroker(let operation, let reason):
            return "Failed to \(operation): \(reason)"
        }
    }
}

extension KafkaError {
    /// A librdkafka error code (`rd_kafka_resp_err_t`): negative values are local to the client,
    /// positive ones come from the Kafka protocol.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32

        public init(rawValue: Int32) { self.rawValue = rawValue }

        init(_ error: rd_kafka_resp_err_t) { self.rawValue = error.rawValue }

        var cValue: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }

        /// librdkafka's symbolic name, such as "_TIMED_OUT".
        public var name: String { String(cString: rd_kafka_err2name(cValue)) }

        /// librdkafka's human-readable text, such as "Local: Timed out".
        public var text: String { String(cString: rd_kafka_err2str(cValue)) }

        public var description: String { name }

        public static let noError = Code(RD_KAFKA_RESP_ERR_NO_ERROR)
        public static let badMessage = Code(RD_KAFKA_RESP_ERR__BAD_MSG)
        public static let transport = Code(RD_KAFKA_RESP_ERR__TRANSPORT)
        public static let messageTimedOut = Code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        public static let partitionEOF = Code(RD_KAFKA_RESP_ERR__PARTITION_EOF)
        public static let unknownPartition = Code(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        public static let unknownTopic = Code(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        public static let allBrokersDown = Code(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        public static let invalidArgument = Code(RD_KAFKA_RESP_ERR__INVALID_ARG)
        public static let timedOut = Code(RD_KAFKA_RESP_ERR__TIMED_OUT)
        public static let queueFull = Code(RD_KAFKA_RESP_ERR__QUEUE_FULL)
        public static let resolve = Code(RD_KAFKA_RESP_ERR__RESOLVE)
        public static let state = Code(RD_KAFKA_RESP_ERR__STATE)
        public static let noOffset = Code(RD_KAFKA_RESP_ERR__NO_OFFSET)
        public static let unsupportedFeature = Code(RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE)
        public static let waitingForCoordinator = Code(RD_KAFKA_RESP_ERR__WAIT_COORD)
        public static let fatal = Code(RD_KAFKA_RESP_ERR__FATAL)
        public static let offsetOutOfRange = Code(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
        public static let unknownTopicOrPartition = Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        public static let leaderNotAvailable = Code(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
        public static let notLeaderForPartition = Code(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION)
        public static let requestTimedOut = Code(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
        public static let messageSizeTooLarge = Code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        public static let coordinatorNotAvailable = Code(
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE
        )
        public static let notCoordinator = Code(RD_KAFKA_RESP_ERR_NOT_COORDINATOR)
        public static let notEnoughReplicas = Code(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)
        public static let rebalanceInProgress = Code(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
        public static let topicAlreadyExists = Code(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)

        /// Codes that mean "no broker reachable or none answered in time".
        var isBrokerUnavailable: Bool { Code.unavailableCodes.contains(self) }

        private static let unavailableCodes: Set<Code> = [
            .transport, .allBrokersDown, .timedOut, .resolve, .messageTimedOut,
            .waitingForCoordinator,
            .coordinatorNotAvailable, .leaderNotAvailable, .requestTimedOut,
        ]

        /// Whether a call that failed with this code may succeed when repeated.
        ///
        /// librdkafka says so itself through `rd_kafka_error_t` where an API returns one; this
        /// table covers the APIs that return a bare code (delivery reports, metadata, commits):
        /// the Kafka protocol's retriable errors plus the local transient ones.
        var isRetriableByDefault: Bool { Code.retriableCodes.contains(rawValue) }

        private static let retriableCodes: Set<Int32> = Set(
            [
                RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
                RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL,
                RD_KAFKA_RESP_ERR__RESOLVE,
                RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
                RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, RD_KAFKA_RESP_ERR_INVALID_MSG,
                RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND,
                RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH,
                RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE,
                RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE,
                RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT,
                RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED,
                RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
            ].map(\.rawValue)
        )
    }
}

extension KafkaError {
    /// An error from a bare librdkafka code, flagged by the table of retriable codes.
    ///
    /// `reason` defaults to librdkafka's text for the code. `client`, when given, contributes
    /// its newest broker connection failure so that timeouts name the broker.
    static func rdkafka(
        _ operation: String,
        _ error: rd_kafka_resp_err_t,
        reason: String? = nil,
        client: RDKafkaClient? = nil
    ) -> KafkaError {
        // `_FATAL` only says that a fatal error was raised; the client knows which one.
        if Code(error) == .fatal, let fatal = client?.fatalError(operation) {
            return fatal
        }
        let code = Code(error)
        return .failed(
            operation: operation,
            code: code,
            reason: reason ?? code.text,
            isFatal: code == .fatal,
            isRetriable: code.isRetriableByDefault,
            brokerError: code.isBrokerUnavailable ? client?.callbacks.lastBrokerError : nil
        )
    }

    /// The fatal error raised on the client `handle`, if there is one (`rd_kafka_fatal_error`).
    static func fatalError(_ operation: String, handle: OpaquePointer) -> KafkaError? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
            buffer[0] = 0
            let error = rd_kafka_fatal_error(handle, buffer.baseAddress, buffer.count)
            guard error != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
            return .failed(
                operation: operation,
                code: Code(error),
                reason: String(cString: buffer.baseAddress!),
                isFatal: true,
                isRetriable: false,
                brokerError: nil
            )
        }
    }

    /// An error from an `rd_kafka_error_t`, which carries librdkafka's own fatal and retriable
    /// flags. Destroys `error`.
    static func consuming(
        _ operation: String,
        _ error: OpaquePointer,
        client: RDKafkaClient? = nil
    ) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let code = Code(rd_kafka_error_code(error))
        return .failed(
            operation: operation,
            code: code,
            reason: String(cString: rd_kafka_error_string(error)),
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            brokerError: code.isBrokerUnavailable ? client?.callbacks.lastBrokerError : nil
        )
    }
}
