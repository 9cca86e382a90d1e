import CRdKafka

/// An in-process Kafka cluster: librdkafka's mock brokers, listening on 127.0.0.1 over real
/// sockets, for demos and tests.
///
/// Limits of librdkafka 2.0.2's mock that users must know: it is memory-only; it keeps only the
/// newest 5 MiB and 100,000 message sets of each partition and drops older records silently
/// (so low watermarks rise); its group coordinator delays a group's first join by about 3 s; it
/// does not implement the CreateTopics admin API (topics come from `createTopic` or from
/// auto-creation on first use); and it ignores transactions' isolation.
///
/// Threads: every method may be called from any thread (librdkafka serialises them onto the
/// mock's own thread), and the stored properties are immutable, so the class is honestly
/// `@unchecked Sendable`. `deinit` stops the brokers; clients still connected see them go down.
public final class MockCluster: @unchecked Sendable {
    /// The listeners, as a `bootstrap.servers` value: "127.0.0.1:PORT,127.0.0.1:PORT".
    public let bootstrapServers: String

    /// Broker ids run from 1 to `brokerCount`.
    public let brokerCount: Int

    private let client: RDKafkaClient
    private let cluster: OpaquePointer

    /// Starts `brokerCount` brokers on ephemeral ports of 127.0.0.1.
    ///
    /// `logHandler` receives the log lines of the handle that hosts the cluster (warnings and
    /// errors only; the host handle itself never connects anywhere).
    public init(brokerCount: Int = 1, logHandler: KafkaLogHandler? = nil) throws {
        precondition(brokerCount > 0, "a mock cluster needs at least one broker")
        // The host handle's notices are only about its own empty bootstrap.servers.
        client = try RDKafkaClient(
            role: .producer,
            configuration: KafkaConfiguration(["log_level": "4"]),
            callbacks: RDKafkaCallbacks(logHandler: logHandler)
        )
        guard
            let cluster = client.withHandle({
                rd_kafka_mock_cluster_new($0, Int32(clamping: brokerCount))
            })
        else {
            throw KafkaError.rdkafka(
                "start a mock cluster of \(brokerCount) brokers",
                rd_kafka_last_error()
            )
        }
        self.cluster = cluster
        self.brokerCount = brokerCount
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Creates a topic; creating one that exists fails with TOPIC_ALREADY_EXISTS.
    public func createTopic(
        _ name: String,
        partitions: Int32,
        replicationFactor: Int32 = 1
    ) throws {
        try check(
            "create topic '\(name)'",
            rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        )
    }

    /// Disconnects broker `id` (or every broker for -1) and refuses new connections, without
    /// moving partition leadership.
    public func setBrokerDown(_ id: Int32) throws {
        try check("take broker \(id) down", rd_kafka_mock_broker_set_down(cluster, id))
    }

    /// Lets broker `id` (or every broker for -1) accept connections again.
    public func setBrokerUp(_ id: Int32) throws {
        try check("bring broker \(id) up", rd_kafka_mock_broker_set_up(cluster, id))
    }

    /// Delays every response of broker `id` (or of all for -1) by `delay`: a slow broker.
    public func setRoundTripTime(_ delay: Duration, broker id: Int32) throws {
        try check(
            "set round-trip time of broker \(id)",
            rd_kafka_mock_broker_set_rtt(cluster, id, delay.milliseconds)
        )
    }

    /// Makes broker `id` the leader of a partition (-1: no leader); creates the topic if needed.
    public func setPartitionLeader(topic: String, partition: Int32, broker id: Int32) throws {
        let operation = "move the leader of '\(topic)'[\(partition)] to broker \(id)"
        try check(operation, rd_kafka_mock_partition_set_leader(cluster, topic, partition, id))
    }

    /// Makes the next `errors.count` requests of type `apiKey`, to any broker, fail with these
    /// codes in order. `KafkaError.Code.transport` disconnects the client instead.
    public func pushRequestErrors(_ apiKey: ApiKey, _ errors: [KafkaError.Code]) {
        let codes = errors.map(\.cValue)
        codes.withUnsafeBufferPointer {
            rd_kafka_mock_push_request_errors_array(
                cluster,
                apiKey.rawValue,
                $0.count,
                $0.baseAddress
            )
        }
    }

    /// Forgets the errors pushed for `apiKey` that have not been used yet.
    public func clearRequestErrors(_ apiKey: ApiKey) {
        rd_kafka_mock_clear_request_errors(cluster, apiKey.rawValue)
    }

    /// Makes Metadata responses report `error` for `topic` (`.noError` clears it).
    public func setTopicError(_ topic: String, _ error: KafkaError.Code) {
        rd_kafka_mock_topic_set_error(cluster, topic, error.cValue)
    }

    private func check(_ operation: String, _ error: rd_kafka_resp_err_t) throws {
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(operation, error)
        }
    }
}

extension MockCluster {
    /// A Kafka protocol request type, for `pushRequestErrors`.
    public struct ApiKey: RawRepresentable, Hashable, Sendable {
        public let rawValue: Int16

        public init(rawValue: Int16) { self.rawValue = rawValue }

        public static let produce = ApiKey(rawValue: 0)
        public static let fetch = ApiKey(rawValue: 1)
        public static let listOffsets = ApiKey(rawValue: 2)
        public static let metadata = ApiKey(rawValue: 3)
        public static let offsetCommit = ApiKey(rawValue: 8)
        public static let offsetFetch = ApiKey(rawValue: 9)
        public static let findCoordinator = ApiKey(rawValue: 10)
        public static let joinGroup = ApiKey(rawValue: 11)
        public static let heartbeat = ApiKey(rawValue: 12)
        public static let leaveGroup = ApiKey(rawValue: 13)
        public static let syncGroup = ApiKey(rawValue: 14)
        public static let apiVersions = ApiKey(rawValue: 18)
        public static let createTopics = ApiKey(rawValue: 19)
        public static let initProducerID = ApiKey(rawValue: 22)
    }
}
