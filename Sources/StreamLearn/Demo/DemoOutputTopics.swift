import Foundation
import Kafka

/// What the daemon left on its output topics at the end of a demo: how many messages the
/// predictions and dead-letter topics hold, and the newest message of each, so that the summary
/// can show what lands there.
///
/// Built once, on the demo's main thread, after the daemon has stopped.
struct DemoOutputTopics {
    /// A topic's message count: high watermarks summed over its partitions, and what the
    /// embedded broker dropped from their beginning (low watermarks; it keeps 5 MiB each).
    struct Count {
        var written: Int64 = 0
        var dropped: Int64 = 0
    }

    /// One message as the summary shows it: its key and value as text, and its headers.
    struct Example {
        var partition: Int32
        var offset: Int64
        var key: String
        var value: String
        var headers: [String: String]
    }

    var predictions: Count?
    var deadLetters: Count?
    var examplePrediction: Example?
    var exampleDeadLetter: Example?
    /// The first thing that went wrong while looking, for the summary.
    var problem: String?

    /// Looks at `predictionsTopic` (`predictionPartitions` partitions) and `deadLetterTopic`
    /// (one partition) through `producer`'s connection, and reads the newest message of each
    /// with a reader of its own. Waits at most a few seconds per topic; a failure is recorded
    /// in `problem`, not thrown.
    init(
        producer: KafkaProducer,
        bootstrapServers: String,
        predictionsTopic: String,
        predictionPartitions: Int32,
        deadLetterTopic: String,
        logHandler: @escaping KafkaLogHandler
    ) {
        let connection = KafkaConfiguration(["bootstrap.servers": bootstrapServers])
        do {
            let (count, newest) = try Self.count(predictionsTopic, partitions: predictionPartitions, producer)
            predictions = count
            if let newest {
                examplePrediction = try Self.read(predictionsTopic, at: newest, connection, logHandler)
            }
        } catch {
            problem = "Failed to read '\(predictionsTopic)': \(error)"
        }
        do {
            let (count, newest) = try Self.count(deadLetterTopic, partitions: 1, producer)
            deadLetters = count
            if let newest {
                exampleDeadLetter = try Self.read(deadLetterTopic, at: newest, connection, logHandler)
            }
        } catch {
            if problem == nil { problem = "Failed to read '\(deadLetterTopic)': \(error)" }
        }
    }

    private static let timeout: Duration = .seconds(5)

    /// The topic's count and the position of its newest message (in the partition that holds
    /// the most), nil when it is empty.
    private static func count(
        _ topic: String,
        partitions: Int32,
        _ producer: KafkaProducer
    ) throws -> (Count, (partition: Int32, offset: Int64)?) {
        var count = Count()
        var newest: (partition: Int32, offset: Int64)?
        for partition in 0..<partitions {
            let watermarks = try producer.queryWatermarks(topic: topic, partition: partition, timeout: timeout)
            count.written += watermarks.high
            count.dropped += watermarks.low
            if watermarks.high > watermarks.low, watermarks.high - 1 > newest?.offset ?? -1 {
                newest = (partition, watermarks.high - 1)
            }
        }
        return (count, newest)
    }

    /// The message at `position`, nil if it did not arrive within the timeout.
    private static func read(
        _ topic: String,
        at position: (partition: Int32, offset: Int64),
        _ connection: KafkaConfiguration,
        _ logHandler: @escaping KafkaLogHandler
    ) throws -> Example? {
        let reader = try KafkaPartitionReader(
            configuration: connection,
            topic: topic,
            partition: position.partition,
            startOffset: position.offset,
            endOffset: position.offset + 1,
            logHandler: logHandler
        )
        let batch = KafkaMessageBatch(capacity: 1)
        defer { batch.release() }
        let deadline = ContinuousClock.now + timeout
        while !reader.isFinished && ContinuousClock.now < deadline {
            try reader.read(into: batch, maxMessages: 1, timeout: .milliseconds(200))
            guard let message = batch.first else { continue }
            var headers: [String: String] = [:]
            for header in message.headers {
                headers[header.name] = header.value.map { String(decoding: $0, as: UTF8.self) }
            }
            return Example(
                partition: message.partition,
                offset: message.offset,
                key: message.key.map { String(decoding: $0, as: UTF8.self) } ?? "",
                value: message.value.map { String(decoding: $0, as: UTF8.self) } ?? "",
                headers: headers
            )
        }
        return nil
    }
}
