import Kafka
import StreamLearnCore
import Testing

@testable import StreamLearn

@Suite("Dead-letter publisher against the mock cluster")
struct DeadLetterPublisherTests {
    /// One bad record of each kind, as a producer might send it, with the reason the decoder
    /// gives (4 features, label in the key, values of at most 64 bytes).
    static let badRecords: [(key: String?, value: [UInt8]?, reason: String)] = [
        ("1", Array(utf8Text: "0.1,0.2,0.3"), "wrong_field_count"),
        ("0", Array(utf8Text: "0.1,0.2,0.3,0.4,0.5"), "wrong_field_count"),
        ("1", Array(utf8Text: "0.1,abc,0.3,0.4"), "not_a_number"),
        ("0", Array(utf8Text: "0.1,0.2,NaN,0.4"), "not_finite"),
        ("1", Array(utf8Text: "inf,0.2,0.3,0.4"), "not_finite"),
        ("0", Array(utf8Text: "0.1,0.2,0.3,1e39"), "not_finite"),
        ("2", Array(utf8Text: "0.1,0.2,0.3,0.4"), "bad_label"),
        ("yes", Array(utf8Text: "0.1,0.2,0.3,0.4"), "bad_label"),
        ("1", Array(repeating: UInt8(ascii: "7"), count: 100), "oversized"),
        ("1", Array(utf8Text: ""), "empty"),
        ("1", nil, "empty"),
        ("0", Array(utf8Text: "  \n"), "empty"),
        ("1", [0xFF, 0x00, 0x2C, 0x80], "wrong_field_count"),
    ]

    static let decoder = RecordDecoder(featureCount: 4, label: .key, maxValueBytes: 64)

    static func failure(key: String?, value: [UInt8]?) -> DecodeFailure? {
        let keyBytes = key.map { Array($0.utf8) }
        var features = [Float](repeating: 0, count: 4)
        do {
            try features.withUnsafeMutableBufferPointer { row in
                try withOptionalInputBytes(keyBytes) { key in
                    try withOptionalInputBytes(value) { value in
                        _ = try decoder.decode(key: key, value: value, into: row)
                    }
                }
            }
            return nil
        } catch let failure as DecodeFailure {
            return failure
        } catch {
            return nil
        }
    }

    @Test("every kind of bad record arrives unchanged, with its reason, source and instance in headers")
    func copiesEveryKindUnchanged() throws {
        let test = try InferenceCluster(topics: ["dead": 1])
        let log = CapturedLog()
        let publisher = try DeadLetterPublisher(
            configuration: test.configuration(),
            topic: "dead",
            instance: "host-a",
            logger: log.logger()
        )
        let inputHeaders = [KafkaHeader(name: "trace", text: "t-1")]
        for (index, record) in Self.badRecords.enumerated() {
            let failure = try #require(Self.failure(key: record.key, value: record.value))
            #expect(failure.reason == record.reason, "record \(index)")
            withOptionalInputBytes(record.key.map { Array($0.utf8) }) { key in
                withOptionalInputBytes(record.value) { value in
                    publisher.handle(
                        failure,
                        topic: "susy-test",
                        partition: 2,
                        offset: Int64(100 + index),
                        key: key,
                        value: value,
                        headers: inputHeaders
                    )
                }
            }
        }
        try publisher.flush(timeout: .seconds(10))

        let stored = try test.readAll(topic: "dead", partition: 0)
        try #require(stored.count == Self.badRecords.count)
        for (index, (record, copy)) in zip(Self.badRecords, stored).enumerated() {
            #expect(copy.key == record.key.map { Array($0.utf8) }, "record \(index)")
            #expect(copy.value == record.value, "record \(index)")
            #expect(copy.header("trace") == "t-1")
            #expect(copy.header(RecordHeaderName.reason) == record.reason, "record \(index)")
            #expect(copy.header(RecordHeaderName.reasonDetail)?.isEmpty == false)
            #expect(copy.source == InputPosition(topic: "susy-test", partition: 2, offset: Int64(100 + index)))
            #expect(copy.header(RecordHeaderName.instance) == "host-a")
        }
        let counts = publisher.counts
        #expect(counts.badRecords == Self.badRecords.count)
        #expect(counts.enqueued == Self.badRecords.count)
        #expect(counts.delivered == Self.badRecords.count)
        #expect(counts.failedDeliveries == 0 && counts.dropped == 0)
        #expect(counts.byReason["not_finite"] == 3)
        #expect(counts.byReason["empty"] == 3)
    }

    @Test("bad records are logged at a bounded rate and counted by reason without a topic")
    func boundedLoggingWithoutTopic() throws {
        let log = CapturedLog()
        let publisher = try DeadLetterPublisher(
            configuration: KafkaConfiguration(["bootstrap.servers": "127.0.0.1:1"]),
            topic: nil,
            instance: "host-a",
            logger: log.logger(),
            logLimit: 3,
            logInterval: .seconds(3600)
        )
        let value = Array(utf8Text: "0.1,x,0.3,0.4")
        for offset in 0..<1000 {
            value.withUnsafeBytes { value in
                publisher.handle(
                    .notANumber(field: 1),
                    topic: "in",
                    partition: 0,
                    offset: Int64(offset),
                    key: nil,
                    value: value
                )
            }
        }
        #expect(log.all.count == 3)
        let expected = "<4>test: Failed to decode record 'in'[0]@0: field 2 is not a number: 'x'"
        #expect(log.all.first?.hasPrefix(expected) == true)
        #expect(publisher.counts.badRecords == 1000)
        #expect(publisher.counts.byReason == ["not_a_number": 1000])
        #expect(publisher.counts.enqueued == 0)
    }

    @Test("a producer queue that is full drops dead letters and counts them instead of blocking")
    func fullQueueDropsInsteadOfBlocking() throws {
        let test = try InferenceCluster(topics: ["dead": 1])
        try test.cluster.setBrokerDown(-1)
        let publisher = try DeadLetterPublisher(
            configuration: test.configuration(["queue.buffering.max.messages": "5"]),
            topic: "dead",
            instance: "host-a",
            logger: CapturedLog().logger()
        )
        let value = Array(utf8Text: "")
        for offset in 0..<50 {
            value.withUnsafeBytes { value in
                publisher.handle(.empty, topic: "in", partition: 0, offset: Int64(offset), key: nil, value: value)
            }
        }
        #expect(publisher.counts.enqueued == 5)
        #expect(publisher.counts.dropped == 45)
        try test.cluster.setBrokerUp(-1)
        try publisher.flush(timeout: .seconds(20))
        #expect(publisher.counts.delivered == 5)
    }
}

func withOptionalInputBytes<Result>(
    _ bytes: [UInt8]?,
    _ body: (UnsafeRawBufferPointer?) throws -> Result
) rethrows -> Result {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}
