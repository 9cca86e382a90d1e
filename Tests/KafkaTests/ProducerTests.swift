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
            headers: [
                KafkaHeader(name: "source", text: "web"), KafkaHeader(name: "empty", value: nil),
            ]
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
                let source = message.header(named: "source").map {
                    String(decoding: $0, as: UTF8.self)
                }
                seen.append((message.keyText, message.valueText, message.headers, source))
            }
        }

        #expect(seen.count == 2)
        #expect(seen.first?.0 == "user-7")
        #expect(seen.first?.1 == "clicked")
        #expect(
            seen.first?.2 == [
                KafkaHeader(name: "source", text: "web"), KafkaHeader(name: "empty", value: nil),
            ]
        )
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
            try producer.send(
                topic: "reports",
                partition: 0,
                key: nil,
                value: [UInt8(index)],
                tag: UInt(100 + index)
            )
        }
        try producer.flush(timeout: .seconds(10))

        let delivered = reports.withLock { $0 }
        #expect(delivered.map(\.tag) == [100, 101, 102, 103, 104])
        #expect(delivered.map(\.offset) == [0, 1, 2, 3, 4])
        #expect(
            delivered.allSatisfy { $0.error == nil && $0.topic == "reports" && $0.partition == 0 }
        )
        #expect(producer.deliveredCount == 5)
        #expect(producer.failedDeliveryCount == 0)
        #expect(producer.outstandingCount == 0)
    }
}

@Suite("Producer under broker errors")
struct ProducerErrorTests {
    @Test("Produce requests that fail are retried by the idempotent producer without duplicates")
    func retriesWithoutDuplicates() throws {
        let test = try TestCluster(topics: ["ledger": 1])
        let producer = try test.producer(["retry.backoff.ms": "10"])
        test.cluster.pushRequestErrors(
            .produce,
            [.notLeaderForPartition, .transport, .requestTimedOut, .notEnoughReplicas]
        )
        for index in 0..<10 {
            try producer.send(
                topic: "ledger",
                partition: 0,
                key: nil,
                value: Array("v\(index)".utf8)
            )
        }
        try producer.flush(timeout: .seconds(20))
        #expect(producer.deliveredCount == 10)
        #expect(producer.failedDeliveryCount == 0)

        let reader = try KafkaPartitionReader(
            configuration: test.configuration(),
            topic: "ledger",
            partition: 0,
            startOffset: KafkaOffset.beginning
        )
        #expect(
            try reader.queryWatermarks(timeout: .seconds(5)) == KafkaWatermarks(low: 0, high: 10)
        )
        let batch = KafkaMessageBatch(capacity: 100)
        var values: [String] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while values.count < 10 && ContinuousClock.now < deadline {
            try reader.read(into: batch, timeout: .milliseconds(200))
            values += batch.compactMap(\.valueText)
        }
        #expect(values == (0..<10).map { "v\($0)" })
    }

    @Test("a send that finds the queue full serves delivery reports and succeeds")
    func queueFullIsWaitedOut() throws {
        let test = try TestCluster(topics: ["burst": 1])
        let producer = try test.producer(["queue.buffering.max.messages": "5", "linger.ms": "0"])
        for index in 0..<50 {
            try producer.send(topic: "burst", partition: 0, key: nil, value: [UInt8(index)])
        }
        try producer.flush(timeout: .seconds(10))
        #expect(producer.deliveredCount == 50)
    }

    @Test("a full queue past the deadline fails the send with QUEUE_FULL")
    func queueFullPastDeadline() throws {
        let test = try TestCluster(topics: ["stuck": 1])
        try test.cluster.setBrokerDown(1)
        let producer = try KafkaProducer(
            configuration: test.configuration(["queue.buffering.max.messages": "2"]),
            queueFullTimeout: .milliseconds(50)
        )
        try producer.send(topic: "stuck", partition: 0, key: nil, value: [1])
        try producer.send(topic: "stuck", partition: 0, key: nil, value: [2])
        #expect {
            try producer.send(topic: "stuck", partition: 0, key: nil, value: [3])
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == .queueFull && error.isRetriable
                && "\(error)"
                    == "Failed to produce to 'stuck'[0]: Local: Queue full (_QUEUE_FULL, retriable)"
        }
        #expect {
            try producer.flush(timeout: .milliseconds(100))
        } throws: { error in
            "\(error)" == "Failed to flush producer: 2 messages still undelivered after 0.1 seconds"
        }
    }

    @Test(
        "a bulk batch spread over partitions is delivered and counted without per-message callbacks"
    )
    func bulkBatch() throws {
        let test = try TestCluster(topics: ["bulk": 3])
        let producer = try test.producer(["compression.codec": "lz4"])
        let batch = KafkaProduceBatch(capacity: 100, bytesPerMessage: 4)
        var written = [Int32](repeating: 0, count: 3)
        for row in 0..<1000 {
            let partition = Int32(row % 3)
            let key: [UInt8] = Array("\(row % 2)".utf8)
            let value = Array("row \(row) with a value longer than the first arena guess".utf8)
            key.withUnsafeBytes { key in
                value.withUnsafeBytes { value in
                    batch.append(key: key, value: value, partition: partition)
                }
            }
            written[Int(partition)] += 1
            if batch.isFull { try producer.send(batch, topic: "bulk") }
        }
        try producer.send(batch, topic: "bulk")
        try producer.flush(timeout: .seconds(10))

        #expect(batch.isEmpty)
        #expect(producer.deliveredCount == 1000)
        #expect(producer.failedDeliveryCount == 0)
        for partition in 0..<3 {
            let marks = try producer.queryWatermarks(
                topic: "bulk",
                partition: Int32(partition),
                timeout: .seconds(5)
            )
            #expect(marks.high == Int64(written[partition]))
        }
        let reader = try KafkaPartitionReader(
            configuration: test.configuration(),
            topic: "bulk",
            partition: 1,
            startOffset: 0,
            endOffset: 1
        )
        let received = KafkaMessageBatch(capacity: 1)
        let deadline = ContinuousClock.now + .seconds(10)
        while !reader.isFinished && ContinuousClock.now < deadline {
            try reader.read(into: received, timeout: .milliseconds(200))
            if let message = received.first {
                #expect(message.keyText == "1")
                #expect(message.valueText == "row 1 with a value longer than the first arena guess")
            }
        }
        #expect(reader.isFinished)
    }
}
