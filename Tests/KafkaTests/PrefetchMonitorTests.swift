import Kafka
import Testing

@Suite("Prefetch monitor against the mock cluster")
struct PrefetchMonitorTests {
    @Test("waking a fetcher stopped at a small queue bound loses and repeats no record")
    func wakesWithoutLossOrRepeat() throws {
        let topic = "prefetch"
        let perPartition = 4000
        let test = try TestCluster(topics: [topic: 2])
        for partition in Int32(0)..<2 {
            try test.produce(topic: topic, partition: partition, count: perPartition)
        }
        // A bound of a few hundred records, and fetch responses that reach it at once.
        let configuration = test.configuration([
            "group.id": "prefetch-monitor",
            "auto.offset.reset": "earliest",
            "queued.max.messages.kbytes": "16",
            "max.partition.fetch.bytes": "65536",
        ])
        let consumer = try KafkaConsumer(configuration: configuration, logHandler: test.log.handler)
        defer { try? consumer.close() }
        try consumer.subscribe(to: [topic])
        var monitor = KafkaPrefetchMonitor(configuration: configuration)
        #expect(monitor.boundBytes == 16 * 1024)
        #expect(monitor.boundMessages == 100_000)

        let batch = KafkaMessageBatch(capacity: 100)
        var received: [Int32: [Int64]] = [0: [], 1: []]
        var mismatches: [String] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while received.values.reduce(0, { $0 + $1.count }) < 2 * perPartition, ContinuousClock.now < deadline {
            try consumer.poll(
                into: batch,
                maxMessages: 100,
                timeout: .milliseconds(100),
                onRebalance: { _ in
                    monitor.reset()
                    return [:]
                }
            )
            for message in batch {
                received[message.partition, default: []].append(message.offset)
                if message.valueText != "v\(message.offset)" {
                    mismatches.append("[\(message.partition)]@\(message.offset): \(message.valueText ?? "nil")")
                }
            }
            monitor.didPoll(batch, consumer: consumer)
        }
        batch.release()

        for partition in Int32(0)..<2 {
            #expect(received[partition] == (0..<Int64(perPartition)).map { $0 })
        }
        #expect(mismatches.isEmpty)
        #expect(monitor.wakeCount > 0)
    }
}
