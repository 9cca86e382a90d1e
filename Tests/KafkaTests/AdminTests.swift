import Kafka
import Testing

@Suite("Admin against the mock cluster")
struct AdminTests {
    @Test(
        "lag per partition is the log-end offset minus the committed offset, '-' without a commit"
    )
    func lagMatchesProducedAndCommitted() throws {
        let test = try TestCluster(topics: ["orders": 2, "other": 1])
        try test.produce(topic: "orders", partition: 0, count: 10)
        try test.produce(topic: "orders", partition: 1, count: 6)
        // Committing needs no group membership, so no 3 s join is spent here.
        let committer = try KafkaConsumer(
            configuration: test.configuration(["group.id": "billing"])
        )
        try committer.commit([KafkaTopicPartitionOffset(topic: "orders", partition: 0, offset: 4)])

        let admin = try KafkaAdmin(
            configuration: test.configuration(),
            logHandler: test.log.handler
        )
        let lag = try admin.lag(group: "billing", timeout: .seconds(10))

        #expect(lag.map(\.topicPartition.description) == ["'orders'[0]", "'orders'[1]"])
        #expect(lag.map(\.committedOffset) == [4, nil])
        #expect(lag.map(\.logEndOffset) == [10, 6])
        #expect(lag.map(\.lag) == [6, nil])
        let offsets = try admin.listGroupOffsets(
            group: "billing",
            topics: ["orders", "other"],
            timeout: .seconds(10)
        )
        #expect(offsets == [KafkaTopicPartition(topic: "orders", partition: 0): 4])
        #expect(try admin.lag(group: "nobody", timeout: .seconds(10)).isEmpty)
    }

    @Test("describing topics lists partitions, leaders, replicas and watermarks")
    func describeTopicsWithWatermarks() throws {
        let test = try TestCluster(brokers: 3, topics: ["metrics": 3])
        try test.produce(topic: "metrics", partition: 2, count: 7)
        let producer = try test.producer()
        #expect(
            try producer.queryWatermarks(topic: "metrics", partition: 2, timeout: .seconds(5))
                == .init(low: 0, high: 7)
        )

        let admin = KafkaAdmin(sharing: producer)
        let topics = try admin.describeTopics(["metrics"], timeout: .seconds(10))
        let partitions = try #require(topics.first?.partitions)
        #expect(topics.map(\.name) == ["metrics"])
        #expect(partitions.map(\.partition) == [0, 1, 2])
        #expect(
            partitions.map(\.watermarks) == [
                .init(low: 0, high: 0), .init(low: 0, high: 0), .init(low: 0, high: 7),
            ]
        )
        // librdkafka 2.0.2's mock places every partition on all brokers, whatever the
        // replication factor asked for.
        #expect(
            partitions.allSatisfy { $0.replicas == [1, 2, 3] && $0.replicas.contains($0.leader) }
        )
        #expect(partitions.allSatisfy { $0.error == nil })
        #expect(try admin.metadata(timeout: .seconds(5)).brokers.map(\.id) == [1, 2, 3])

        #expect {
            try admin.describeTopics(["missing"], timeout: .seconds(5))
        } throws: { error in
            (error as? KafkaError)?.code == .unknownTopicOrPartition
                && "\(error)".hasPrefix(
                    "Failed to describe topic 'missing': Broker: Unknown topic or partition"
                )
        }
    }

    @Test("creating a topic on the mock cluster fails with an error that says it cannot")
    func createTopicUnsupportedByMock() throws {
        let test = try TestCluster()
        let admin = try KafkaAdmin(configuration: test.configuration())
        #expect {
            try admin.createTopic(
                "fresh",
                partitions: 3,
                replicationFactor: 1,
                timeout: .seconds(10)
            )
        } throws: { error in
            guard case .unsupportedByBroker(let operation, let reason) = error as? KafkaError else {
                return false
            }
            return operation == "create topic 'fresh'"
                && reason.contains("cannot create topics through the admin API")
        }
    }

    @Test("with its broker down a metadata request fails in time and names the broker")
    func brokerDown() throws {
        let test = try TestCluster(topics: ["any": 1])
        let admin = try KafkaAdmin(
            configuration: test.configuration(),
            logHandler: test.log.handler
        )
        _ = try admin.metadata(timeout: .seconds(5))
        try test.cluster.setBrokerDown(1)

        let port = test.cluster.bootstrapServers.split(separator: ":").last.map(String.init) ?? "?"
        #expect {
            try admin.describeTopics(["any"], timeout: .seconds(2))
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.isBrokerUnavailable && "\(error)".contains(port)
        }
        #expect(test.log.all.contains { $0.hasPrefix("<3>FAIL:") && $0.contains(port) })
    }
}
