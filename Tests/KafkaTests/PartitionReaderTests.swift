import Kafka
import Testing

@Suite("Partition reader against the mock cluster")
struct PartitionReaderTests {
    @Test("reads from a start offset up to, not including, an end offset")
    func readsRange() throws {
        let test = try TestCluster(topics: ["history": 2])
        try test.produce(topic: "history", partition: 1, count: 20)
        let reader = try KafkaPartitionReader(
            configuration: test.configuration(),
            topic: "history",
            partition: 1,
            startOffset: 5,
            endOffset: 12,
            logHandler: test.log.handler
        )
        let batch = KafkaMessageBatch(capacity: 4)
        var offsets: [Int64] = []
        var values: [String] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while !reader.isFinished && ContinuousClock.now < deadline {
            try reader.read(into: batch, timeout: .milliseconds(200))
            #expect(batch.count <= 4)
            offsets += batch.map(\.offset)
            values += batch.compactMap(\.valueText)
        }
        #expect(offsets == Array(5..<12))
        #expect(values == (5..<12).map { "v\($0)" })
        #expect(reader.nextOffset == 12)

        try reader.read(into: batch, timeout: .milliseconds(10))
        #expect(batch.isEmpty)
        #expect(
            try reader.queryWatermarks(timeout: .seconds(5)) == KafkaWatermarks(low: 0, high: 20)
        )
    }
}
