import Kafka
import Locking
import StreamLearnCore

@testable import StreamLearn

/// A mock cluster for the inference and dead-letter tests, with helpers to fill input topics
/// and read back what landed on output topics.
struct InferenceCluster {
    let cluster: MockCluster

    init(topics: [String: Int32]) throws {
        cluster = try MockCluster(brokerCount: 1)
        for (name, partitions) in topics.sorted(by: { $0.key < $1.key }) {
            try cluster.createTopic(name, partitions: partitions)
        }
    }

    /// Client properties for this cluster; group sessions are short because the mock's
    /// coordinator completes a rebalance only after session.timeout.ms minus 1 s.
    func configuration(_ extra: KeyValuePairs<String, String> = [:]) -> KafkaConfiguration {
        var configuration = KafkaConfiguration([
            "bootstrap.servers": cluster.bootstrapServers,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": "3000",
            "heartbeat.interval.ms": "300",
            "log_level": "3",
        ])
        for (key, value) in extra { configuration[key] = value }
        return configuration
    }

    /// Produces `records` (key, value, partition) in order and waits for their delivery.
    func produce(topic: String, records: [(key: [UInt8]?, value: [UInt8]?, partition: Int32)]) throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration([
                "bootstrap.servers": cluster.bootstrapServers,
                "compression.codec": "lz4",
                "linger.ms": "20",
            ])
        )
        for record in records {
            try producer.send(topic: topic, partition: record.partition, key: record.key, value: record.value)
        }
        try producer.flush(timeout: .seconds(30))
        precondition(producer.failedDeliveryCount == 0, "test input was not delivered")
    }

    /// Every record of `topic`[`partition`] from the low to the high watermark, copied.
    func readAll(topic: String, partition: Int32) throws -> [StoredRecord] {
        let configuration = KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers])
        let (records, low) = try StoredRecord.readAll(configuration: configuration, topic: topic, partition: partition)
        precondition(low == 0, "the mock broker dropped records of '\(topic)'[\(partition)]")
        return records
    }

    /// Every record of every partition of `topic`.
    func readAll(topic: String, partitions: Int32) throws -> [StoredRecord] {
        try (0..<partitions).flatMap { try readAll(topic: topic, partition: $0) }
    }
}

/// A consumed record, copied out of its batch.
struct StoredRecord: Sendable {
    /// Every record of `topic`[`partition`] below the high watermark it has when the read
    /// starts, copied, and the low watermark then; gives up after `timeout`.
    static func readAll(
        configuration: KafkaConfiguration,
        topic: String,
        partition: Int32,
        timeout: Duration = .seconds(30)
    ) throws -> (records: [StoredRecord], lowWatermark: Int64) {
        let reader = try KafkaPartitionReader(
            configuration: configuration,
            topic: topic,
            partition: partition,
            startOffset: KafkaOffset.beginning
        )
        let watermarks = try reader.queryWatermarks(timeout: .seconds(10))
        var records: [StoredRecord] = []
        let batch = KafkaMessageBatch(capacity: 4096)
        defer { batch.release() }
        let deadline = ContinuousClock.now + timeout
        while records.count < watermarks.high - watermarks.low && ContinuousClock.now < deadline {
            try reader.read(into: batch, timeout: .milliseconds(100))
            for message in batch where message.offset < watermarks.high {
                records.append(StoredRecord(message))
            }
        }
        return (records, watermarks.low)
    }

    var partition: Int32
    var offset: Int64
    var key: [UInt8]?
    var value: [UInt8]?
    var headers: [KafkaHeader]

    init(_ message: KafkaMessage) {
        partition = message.partition
        offset = message.offset
        key = message.key.map { Array($0) }
        value = message.value.map { Array($0) }
        headers = message.headers
    }

    /// The text of the last header called `name`.
    func header(_ name: String) -> String? {
        headers.last(where: { $0.name == name })?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The source (topic, partition, offset) named by the streamlearn headers.
    var source: InputPosition? {
        guard let topic = header(RecordHeaderName.sourceTopic),
            let partition = header(RecordHeaderName.sourcePartition).flatMap({ Int32($0) }),
            let offset = header(RecordHeaderName.sourceOffset).flatMap({ Int64($0) })
        else { return nil }
        return InputPosition(topic: topic, partition: partition, offset: offset)
    }

    var valueText: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

/// One input record's identity.
struct InputPosition: Hashable, Sendable, Comparable {
    var topic: String
    var partition: Int32
    var offset: Int64

    static func < (lhs: InputPosition, rhs: InputPosition) -> Bool {
        (lhs.topic, lhs.partition, lhs.offset) < (rhs.topic, rhs.partition, rhs.offset)
    }
}

/// Log lines captured instead of written to stderr.
final class CapturedLog: Sendable {
    private let lines = Locked<[String]>([])

    func logger(_ label: String = "test", level: LogLevel = .debug) -> Logger {
        Logger(label: label, minimumLevel: level) { [self] line in lines.withLock { $0.append(line) } }
    }

    var all: [String] { lines.withLock { $0 } }
}

extension Array where Element == UInt8 {
    init(utf8Text text: String) { self = Array(text.utf8) }
}
