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

    @Test("a partition that reached its end still wakes the fetcher for the others")
    func wakesThroughFinishedPartition() throws {
        // Partition 0 ends in the first fetch; every later wake has only it to seek, as the
        // partition not in the last poll. librdkafka forgets a position at a seek, so a monitor
        // that asked it for positions found none after the first wake and let the fetcher
        // wait out a second at each queue-full: about ten empty polls each.
        let topic = "prefetch-uneven"
        let counts: [Int32: Int] = [0: 200, 1: 30_000]
        let test = try TestCluster(topics: [topic: 2])
        for (partition, count) in counts {
            try test.produce(topic: topic, partition: partition, count: count)
        }
        let configuration = test.configuration([
            "group.id": "prefetch-monitor-uneven",
            "auto.offset.reset": "earliest",
            "queued.max.messages.kbytes": "16",
            "max.partition.fetch.bytes": "16384",
        ])
        let consumer = try KafkaConsumer(configuration: configuration, logHandler: test.log.handler)
        defer { try? consumer.close() }
        try consumer.subscribe(to: [topic])
        var monitor = KafkaPrefetchMonitor(configuration: configuration)

        let batch = KafkaMessageBatch(capacity: 100)
        var next: [Int32: Int64] = [0: 0, 1: 0]
        var outOfOrder: [String] = []
        var emptyPollsWhileBehind = 0
        let total = counts.values.reduce(0, +)
        var receivedCount = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while receivedCount < total, ContinuousClock.now < deadline {
            try consumer.poll(
                into: batch,
                maxMessages: 100,
                timeout: .milliseconds(100),
                onRebalance: { _ in
                    monitor.reset()
                    return [:]
                }
            )
            if batch.isEmpty && receivedCount > 0 { emptyPollsWhileBehind += 1 }
            for message in batch {
                if message.offset != next[message.partition] {
                    outOfOrder.append(
                        "[\(message.partition)]@\(message.offset), expected \(next[message.partition] ?? -1)"
                    )
                }
                next[message.partition] = message.offset + 1
                receivedCount += 1
            }
            monitor.didPoll(batch, consumer: consumer)
        }
        batch.release()

        #expect(next == [0: 200, 1: 30_000])
        #expect(outOfOrder.isEmpty)
        #expect(monitor.wakeCount > 5)
        // Records were always there to fetch: a poll came back empty only while a fetch was
        // on its way, never for the second of a fetcher nobody woke.
        #expect(emptyPollsWhileBehind < 10, "\(monitor.wakeCount) wakes")
    }
}
