import Kafka
import Testing

@Suite("Prefetch monitor against the mock cluster")
struct PrefetchMonitorTests {
    @Test("waking a fetcher stopped at a small queue bound loses and repeats no record")
    func wakesWithoutLossOrRepeat() throws {
        let run = try consume(counts: [0: 4000, 1: 4000], maxPartitionFetchBytes: 65536)
        #expect(run.boundBytes == 16 * 1024)
        #expect(run.boundMessages == 100_000)
        for partition in Int32(0)..<2 {
            #expect(run.offsets[partition] == (0..<4000).map { $0 })
        }
        #expect(run.mismatches.isEmpty)
        #expect(run.wakeCount > 0)
    }

    @Test("a partition that reached its end still wakes the fetcher for the others")
    func wakesThroughFinishedPartition() throws {
        // Partition 0 ends in the first fetch; every later wake has only it to seek, as the
        // partition not in the last poll. librdkafka forgets a position at a seek, so a monitor
        // that asked it for positions found none after the first wake and let the fetcher
        // wait out a second at each queue-full: about ten empty polls each.
        let run = try consume(counts: [0: 200, 1: 30_000], maxPartitionFetchBytes: 16384)
        #expect(run.offsets[0] == (0..<200).map { $0 })
        #expect(run.offsets[1] == (0..<30_000).map { $0 })
        #expect(run.wakeCount > 0)
        // Records were always there to fetch: a poll came back empty only while a fetch was
        // on its way, never for the second of a fetcher nobody woke.
        #expect(run.emptyPollsAfterFirstRecord < 10, "\(run.wakeCount) wakes")
    }

    /// What a consumer with a 16 KiB queue bound and a monitor received.
    private struct Consumption {
        var offsets: [Int32: [Int64]] = [:]
        /// Records whose value was not the one produced at their offset.
        var mismatches: [String] = []
        var emptyPollsAfterFirstRecord = 0
        var wakeCount = 0
        var boundBytes = 0
        var boundMessages = 0
    }

    /// Produces `counts` records to the partitions of a new topic, then consumes them all as a
    /// group, 100 per poll, with a prefetch monitor at work.
    private func consume(counts: [Int32: Int], maxPartitionFetchBytes: Int) throws -> Consumption {
        let topic = "prefetch"
        let test = try TestCluster(topics: [topic: Int32(counts.count)])
        for (partition, count) in counts {
            try test.produce(topic: topic, partition: partition, count: count)
        }
        // A bound of a few hundred records, and fetch responses that reach it at once.
        let configuration = test.configuration([
            "group.id": "prefetch-monitor",
            "auto.offset.reset": "earliest",
            "queued.max.messages.kbytes": "16",
            "max.partition.fetch.bytes": String(maxPartitionFetchBytes),
        ])
        let consumer = try KafkaConsumer(configuration: configuration, logHandler: test.log.handler)
        defer { try? consumer.close() }
        try consumer.subscribe(to: [topic])
        var monitor = KafkaPrefetchMonitor(configuration: configuration)

        let batch = KafkaMessageBatch(capacity: 100)
        defer { batch.release() }
        var result = Consumption()
        var receivedCount = 0
        let total = counts.values.reduce(0, +)
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
            if batch.isEmpty && receivedCount > 0 { result.emptyPollsAfterFirstRecord += 1 }
            for message in batch {
                result.offsets[message.partition, default: []].append(message.offset)
                if message.valueText != "v\(message.offset)" {
                    let text = message.valueText ?? "nil"
                    result.mismatches.append("[\(message.partition)]@\(message.offset): \(text)")
                }
                receivedCount += 1
            }
            monitor.didPoll(batch, consumer: consumer)
        }
        result.wakeCount = monitor.wakeCount
        result.boundBytes = monitor.boundBytes
        result.boundMessages = monitor.boundMessages
        return result
    }
}
