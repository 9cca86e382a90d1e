import Kafka
import Synchronization

/// Collects librdkafka log lines, for tests that assert what an operator would read.
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])

    var handler: KafkaLogHandler {
        { [self] level, facility, message in
            self.lines.withLock { $0.append("<\(level)>\(facility): \(message)") }
        }
    }

    var all: [String] { lines.withLock { $0 } }
}

/// A mock cluster with topics already created, and the configuration to reach it.
struct TestCluster {
    let cluster: MockCluster
    let log = LogRecorder()

    init(brokers: Int = 1, topics: [String: Int32] = [:]) throws {
        cluster = try MockCluster(brokerCount: brokers)
        for (name, partitions) in topics {
            try cluster.createTopic(name, partitions: partitions)
        }
    }

    /// Client settings for this cluster, plus `extra`.
    func configuration(_ extra: KeyValuePairs<String, String> = [:]) -> KafkaConfiguration {
        var configuration = KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers])
        for (key, value) in extra { configuration[key] = value }
        return configuration
    }

    func producer(_ extra: KeyValuePairs<String, String> = [:]) throws -> KafkaProducer {
        try KafkaProducer(configuration: configuration(extra), logHandler: log.handler)
    }

    /// Produces `count` records to `topic`[`partition`] with keys "k<i>" and values "v<i>",
    /// numbered from `first`, and waits for their delivery.
    func produce(topic: String, partition: Int32, count: Int, first: Int = 0) throws {
        let producer = try producer()
        for index in first..<(first + count) {
            try producer.send(
                topic: topic,
                partition: partition,
                key: Array("k\(index)".utf8),
                value: Array("v\(index)".utf8)
            )
        }
        try producer.flush(timeout: .seconds(10))
        precondition(producer.failedDeliveryCount == 0, "test data was not delivered")
    }
}

extension KafkaMessage {
    var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    var valueText: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

/// Polls `consumer` until `isDone` holds or `timeout` passes; returns whether it held.
///
/// Each poll waits for an event (a message or a rebalance) for at most 100 ms, so the loop
/// reacts as soon as librdkafka has something, and gives up at the deadline instead of hanging.
@discardableResult
func poll(
    _ consumer: KafkaConsumer,
    into batch: KafkaMessageBatch,
    until isDone: () -> Bool,
    timeout: Duration = .seconds(20),
    onMessage: (KafkaMessage) -> Void = { _ in },
    onRebalance: KafkaRebalanceHandler? = nil
) throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !isDone() {
        guard ContinuousClock.now < deadline else { return false }
        try consumer.poll(into: batch, timeout: .milliseconds(100), onRebalance: onRebalance)
        batch.forEach(onMessage)
    }
    return true
}
