import Foundation
import Kafka
import StreamLearnCore

/// Loads generated SUSY-shaped records into a topic of the embedded broker before a benchmark
/// reads them: key = label, value = 18 features as CSV, lz4-compressed, in runs of
/// `runLength` records per partition so that message sets are large.
///
/// The embedded broker keeps only the newest 5 MiB of each partition; `partitionCount(for:)`
/// sizes the topic so nothing is dropped, and `load` verifies it: every partition's low
/// watermark must still be 0 and the high watermarks must add up to the records produced.
enum RecordPreloader {
    /// Compressed bytes per record, rounded up from the ~116 measured (157 raw, lz4 ~0.74).
    static let estimatedBytesPerRecord = 150
    /// What each partition may fill, below the broker's 5 MiB.
    static let bytesPerPartition = 4 << 20
    static let runLength = 1024

    /// Enough partitions for `recordCount` records to fit, at least 2 and at most 1024.
    static func partitionCount(for recordCount: Int) -> Int32 {
        let needed = (recordCount * estimatedBytesPerRecord + bytesPerPartition - 1) / bytesPerPartition
        return Int32(min(max(needed, 2), 1024))
    }

    /// Produces `recordCount` records of generator `seed` to `topic` (which has
    /// `partitionCount` partitions), waits for every delivery, and checks the watermarks.
    /// Throws a `CommandError` naming what went wrong.
    static func load(
        recordCount: Int,
        seed: UInt64,
        topic: String,
        partitionCount: Int32,
        bootstrapServers: String,
        logHandler: @escaping KafkaLogHandler,
        commandName: String
    ) throws {
        let configuration = KafkaConfiguration([
            "bootstrap.servers": bootstrapServers,
            "compression.codec": "lz4",
            "linger.ms": "50",
            "batch.num.messages": "10000",
            "batch.size": "1000000",
        ])
        let producer = try KafkaProducer(configuration: configuration, logHandler: logHandler)
        var generator = SyntheticSUSY(seed: seed)
        let batch = KafkaProduceBatch(capacity: 4096, bytesPerMessage: 192)
        let row = UnsafeMutablePointer<UInt8>.allocate(capacity: SyntheticSUSY.maximumCSVRowLength)
        defer { row.deallocate() }

        for index in 0..<recordCount {
            // "label,f1,...,f18\n": the label is the key, the rest without the newline the value.
            let length = generator.nextCSVRow(into: row)
            batch.append(
                key: UnsafeRawBufferPointer(start: row, count: 1),
                value: UnsafeRawBufferPointer(start: row + 2, count: length - 3),
                partition: Int32((index / runLength) % Int(partitionCount))
            )
            if batch.isFull { try producer.send(batch, topic: topic) }
        }
        try producer.send(batch, topic: topic)
        do {
            try producer.flush(timeout: .seconds(120))
        } catch {
            throw CommandError(
                .failure,
                "\(commandName): Failed to load the benchmark records into '\(topic)': \(error)"
            )
        }
        if producer.failedDeliveryCount > 0 {
            let reason = producer.firstDeliveryError.map { "\($0)" } ?? "unknown reason"
            throw CommandError(
                .failure,
                "\(commandName): Failed to deliver \(producer.failedDeliveryCount) of \(recordCount) records "
                    + "to '\(topic)': \(reason)"
            )
        }

        var total: Int64 = 0
        for partition in 0..<partitionCount {
            let marks = try producer.queryWatermarks(topic: topic, partition: partition, timeout: .seconds(10))
            guard marks.low == 0 else {
                throw CommandError(
                    .failure,
                    "\(commandName): the embedded broker dropped records of '\(topic)'[\(partition)] (low watermark "
                        + "\(marks.low), not 0): more than 5 MiB in one partition; use fewer records"
                )
            }
            total += marks.high
        }
        guard total == Int64(recordCount) else {
            throw CommandError(
                .failure,
                "\(commandName): '\(topic)' holds \(total) records after loading \(recordCount)"
            )
        }
    }
}
