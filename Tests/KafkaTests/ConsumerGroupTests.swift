import Kafka
import Synchronization
import Testing

@Suite("Group consumer against the mock cluster")
struct ConsumerGroupTests {
    /// The mock's coordinator completes every rebalance after a group's first one only when
    /// `session.timeout.ms` minus 1 s has passed, so group tests keep sessions short.
    static func groupSettings(_ group: String) -> KeyValuePairs<String, String> {
        [
            "group.id": group,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": "4000",
            "heartbeat.interval.ms": "500",
        ]
    }

    @Test("a new consumer of a group resumes exactly after the group's last commit")
    func resumesAfterCommit() throws {
        let test = try TestCluster(topics: ["jobs": 1])
        try test.produce(topic: "jobs", partition: 0, count: 20)
        let settings = Self.groupSettings("resume")
        let partition = KafkaTopicPartition(topic: "jobs", partition: 0)

        let first = try KafkaConsumer(
            configuration: test.configuration(settings),
            logHandler: test.log.handler
        )
        try first.subscribe(to: ["jobs"])
        let batch = KafkaMessageBatch(capacity: 100)
        var processed: [Int64] = []
        try poll(first, into: batch, until: { processed.count >= 8 }) { message in
            if processed.count < 8 { processed.append(message.offset) }
        }
        try first.commit([KafkaTopicPartitionOffset(partition, offset: processed.last! + 1)])
        try first.close()
        try first.close()
        #expect(processed == Array(0..<8))
        #expect(first.isClosed)

        let second = try KafkaConsumer(
            configuration: test.configuration(settings),
            logHandler: test.log.handler
        )
        #expect(
            try second.committedOffsets(of: [partition], timeout: .seconds(10)) == [partition: 8]
        )
        try second.subscribe(to: ["jobs"])
        var resumed: [Int64] = []
        try poll(second, into: batch, until: { !resumed.isEmpty }) { resumed.append($0.offset) }
        #expect(resumed.first == 8)
        #expect(resumed.last.map { $0 <= 19 } == true)
        #expect(second.cachedWatermarks(topic: "jobs", partition: 0)?.high == 20)
        try second.close()
    }

    @Test(
        "two members split four partitions and the one that stays takes all when the other leaves"
    )
    func rebalanceWhenMemberLeaves() throws {
        let test = try TestCluster(topics: ["work": 4])
        let settings = Self.groupSettings("split")
        let stayer = try KafkaConsumer(
            configuration: test.configuration(settings),
            logHandler: test.log.handler
        )
        let leaver = try KafkaConsumer(
            configuration: test.configuration(settings),
            logHandler: test.log.handler
        )
        try stayer.subscribe(to: ["work"])
        try leaver.subscribe(to: ["work"])

        var stayerEvents: [KafkaRebalance] = []
        var leaverEvents: [KafkaRebalance] = []
        let batch = KafkaMessageBatch(capacity: 10)
        let deadline = ContinuousClock.now + .seconds(30)
        var owned: ([KafkaTopicPartition], [KafkaTopicPartition]) = ([], [])
        while owned.0.count != 2 || owned.1.count != 2, ContinuousClock.now < deadline {
            try stayer.poll(into: batch, timeout: .milliseconds(50)) {
                stayerEvents.append($0); return [:]
            }
            try leaver.poll(into: batch, timeout: .milliseconds(50)) {
                leaverEvents.append($0); return [:]
            }
            owned = (try stayer.assignment(), try leaver.assignment())
        }
        #expect(owned.0.count == 2 && owned.1.count == 2)
        #expect(Set(owned.0 + owned.1).count == 4)
        #expect(stayer.rebalanceProtocol == .eager)

        var revoked: [KafkaRebalance] = []
        try leaver.close {
            revoked.append($0); return [:]
        }
        #expect(revoked.map(\.kind) == [.revoked])
        #expect(revoked.first?.partitions == owned.1)

        let everything = (0..<4).map { KafkaTopicPartition(topic: "work", partition: $0) }
        stayerEvents.removeAll()
        try poll(
            stayer,
            into: batch,
            until: { stayerEvents.last?.partitions == everything },
            onRebalance: { rebalance in
                stayerEvents.append(rebalance)
                return [:]
            }
        )
        #expect(stayerEvents.map(\.kind) == [.revoked, .assigned])
        #expect(stayerEvents.last?.partitions == everything)
        #expect(try stayer.assignment() == everything)
        try stayer.close()
    }

    @Test(
        "with the cooperative protocol a leaving member's partitions are added to the stayer, not reshuffled"
    )
    func cooperativeRebalance() throws {
        let test = try TestCluster(topics: ["flow": 4])
        var settings = test.configuration(Self.groupSettings("cooperative"))
        settings["partition.assignment.strategy"] = "cooperative-sticky"
        let stayer = try KafkaConsumer(configuration: settings, logHandler: test.log.handler)
        let leaver = try KafkaConsumer(configuration: settings, logHandler: test.log.handler)
        try stayer.subscribe(to: ["flow"])
        try leaver.subscribe(to: ["flow"])

        let batch = KafkaMessageBatch(capacity: 10)
        let deadline = ContinuousClock.now + .seconds(30)
        var owned: ([KafkaTopicPartition], [KafkaTopicPartition]) = ([], [])
        while owned.0.count != 2 || owned.1.count != 2, ContinuousClock.now < deadline {
            try stayer.poll(into: batch, timeout: .milliseconds(50))
            try leaver.poll(into: batch, timeout: .milliseconds(50))
            owned = (try stayer.assignment(), try leaver.assignment())
        }
        #expect(owned.0.count == 2 && owned.1.count == 2)
        #expect(stayer.rebalanceProtocol == .cooperative)

        var revoked: [KafkaRebalance] = []
        try leaver.close {
            revoked.append($0); return [:]
        }
        #expect(revoked.map(\.kind) == [.revoked])
        #expect(revoked.first?.partitions == owned.1)

        var events: [KafkaRebalance] = []
        try poll(
            stayer,
            into: batch,
            until: { events.contains { $0.kind == .assigned } },
            onRebalance: { rebalance in
                events.append(rebalance)
                return [:]
            }
        )
        #expect(events.map(\.kind) == [.assigned])
        #expect(events.first?.partitions == owned.1)
        #expect(events.first?.rebalanceProtocol == .cooperative)
        #expect(try stayer.assignment() == (owned.0 + owned.1).sorted())
        try stayer.close()
    }

    @Test("offsets returned on assignment are where reading starts, whatever was committed")
    func startOffsetsOnAssignment() throws {
        let test = try TestCluster(topics: ["replay": 2])
        try test.produce(topic: "replay", partition: 0, count: 10)
        try test.produce(topic: "replay", partition: 1, count: 10)
        let consumer = try KafkaConsumer(
            configuration: test.configuration(Self.groupSettings("replay")),
            logHandler: test.log.handler
        )
        try consumer.commit([KafkaTopicPartitionOffset(topic: "replay", partition: 0, offset: 2)])
        try consumer.subscribe(to: ["replay"])

        var firstOffsets: [Int32: Int64] = [:]
        var assigned: [KafkaTopicPartition] = []
        try poll(
            consumer,
            into: KafkaMessageBatch(capacity: 50),
            until: { firstOffsets.count == 2 },
            onMessage: { message in
                if firstOffsets[message.partition] == nil {
                    firstOffsets[message.partition] = message.offset
                }
            },
            onRebalance: { rebalance in
                assigned += rebalance.partitions
                return [KafkaTopicPartition(topic: "replay", partition: 0): 7]
            }
        )
        #expect(assigned.count == 2)
        #expect(firstOffsets == [0: 7, 1: 0])
        let position = try consumer.positions(of: assigned)[
            KafkaTopicPartition(topic: "replay", partition: 0)
        ]
        #expect(position.map { (8...10).contains($0) } == true)
        try consumer.close()
    }
}
