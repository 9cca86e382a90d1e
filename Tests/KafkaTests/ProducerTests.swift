import Kafka
import Synchronization
import Testing

@Suite("Producer against the mock cluster")
struct ProducerTests {
    @Test("a record's key, value and headers arrive as they were sent")
    func roundTrip() throws {
        let test = try TestCluster(topics: ["events": 2])
        let producer = try test.producer()
        try producer.send(
            topic: "events",
            partition: 1,
            key: Array("user-7".utf8),
            value: Array("clicked".utf8),
            headers: [KafkaHeader(name: "source", text: "web"), KafkaHeader(name: "empty", value: nil)]
        )
        try producer.send(topic: "events", partition: 1, key: [UInt8]?.none, value: nil)
        try producer.flush(timeout: .seconds(10))

        let reader = try KafkaPartitionReader(
            configuration: test.configuration(),
            topic: "events",
            partition: 1,
            startOffset: KafkaOffset.beginning,
            endOffset: 2
        )
        let batch = KafkaMessageBatch(capacity: 10)
        var seen: [(String?, String?, [KafkaHeader], String?)] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while !reader.isFinished && ContinuousClock.now < deadline {
            try reader.read(into: batch, timeout: .milliseconds(200))
            for message in batch {
                let source = message.header(named: "source").map { String(decoding: $0, as: UTF8.self) }
                seen.append((message.keyText, message.valueText, message.headers, source))
            }
        }

        #expect(seen.count == 2)
        #expect(seen.first?.0 == "user-7")
        #expect(seen.first?.1 == "clicked")
        #expect(seen.first?.2 == [KafkaHeader(name: "source", text: "web"), KafkaHeader(name: "empty", value: nil)])
        #expect(seen.first?.3 == "web")
        #expect(seen.last?.0 == nil)
        #expect(seen.last?.1 == nil)
        #expect(seen.last?.2 == [])
    }

    @Test("an idempotent producer reports each delivery with its offset and tag")
    func deliveryReports() throws {
        let test = try TestCluster(topics: ["reports": 1])
        let reports = Mutex<[KafkaDeliveryReport]>([])
        let producer = try KafkaProducer(
            configuration: test.configuration(),
            logHandler: test.log.handler,
            deliveryHandler: { report in reports.withLock { $0.append(report) } }
        )
        for index in 0..<5 {
            try producer.send(topic: "reports", partition: 0, key: nil, value: [UInt8(index)], tag: UInt(100 + index))
        }
        try producer.flush(timeout: .seconds(10))

        let delivered = reports.withLock { $0 }
        #expect(delivered.map(\.tag) == [100, 101, 102, 103, 104])
        #expect(delivered.map(\.offset) == [0, 1, 2, 3, 4])
        #expect(delivered.allSatisfy { $0.error == nil && $0.topic == "reports" && $0.partition == 0 })
        #expect(producer.deliveredCount == 5)
        #expect(producer.failedDeliveryCount == 0)
        #expect(producer.outstandingCount == 0)
    }
}
