import Foundation
import Kafka
import StreamLearnCore
import Testing

/// Rows of the synthetic SUSY process split as the tutorial stores them in Kafka: the features
/// as a CSV line (the message value) and the label as text (the message key).
struct TrainEvaluateRows {
    var values: [String] = []
    var labels: [Float] = []

    var count: Int { labels.count }

    /// `count` rows generated with `seed`.
    init(count: Int, seed: UInt64) {
        var generator = SyntheticSUSY(seed: seed)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: SyntheticSUSY.maximumCSVRowLength)
        defer { buffer.deallocate() }
        for _ in 0..<count {
            let length = generator.nextCSVRow(into: buffer)
            // "label,f1,...,f18\n": the label is one digit, the value runs to the line end.
            let line = UnsafeBufferPointer(start: buffer, count: length)
            labels.append(line[0] == UInt8(ascii: "1") ? 1 : 0)
            values.append(String(decoding: line[2..<(length - 1)], as: UTF8.self))
        }
    }

    init() {}

    /// The rows with indices in `range`.
    subscript(range: Range<Int>) -> TrainEvaluateRows {
        var rows = TrainEvaluateRows()
        rows.values = Array(values[range])
        rows.labels = Array(labels[range])
        return rows
    }

    /// The features as one row-major matrix, decoded as the commands decode them.
    func featureMatrix(featureCount: Int = 18) throws -> [Float] {
        let decoder = RecordDecoder(featureCount: featureCount, label: .none)
        var matrix = [Float](repeating: 0, count: count * featureCount)
        try matrix.withUnsafeMutableBufferPointer { matrix in
            for (index, value) in values.enumerated() {
                let row = UnsafeMutableBufferPointer(
                    rebasing: matrix[(index * featureCount)..<((index + 1) * featureCount)]
                )
                var bytes = Array(value.utf8)
                _ = try bytes.withUnsafeMutableBytes {
                    try decoder.decode(key: nil, value: UnsafeRawBufferPointer($0), into: row)
                }
            }
        }
        return matrix
    }

    /// The values as a file for `streamlearn predict`, one per line.
    var predictInput: Data { Data((values.joined(separator: "\n") + "\n").utf8) }
}

/// An in-process mock cluster with helpers to fill topics and read a group's offsets.
final class TrainEvaluateCluster: @unchecked Sendable {
    let cluster: MockCluster
    let producer: KafkaProducer
    let admin: KafkaAdmin

    var bootstrap: String { cluster.bootstrapServers }

    init(topics: [(String, Int32)]) throws {
        cluster = try MockCluster()
        for (name, partitions) in topics {
            try cluster.createTopic(name, partitions: partitions)
        }
        producer = try KafkaProducer(
            configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "5"])
        )
        admin = try KafkaAdmin(configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers]))
    }

    /// Produces `rows` to `topic`, row i to partition `partitionOf(i)`, and waits for delivery.
    func produce(_ rows: TrainEvaluateRows, to topic: String, partitionOf: (Int) -> Int32 = { _ in 0 }) throws {
        for index in 0..<rows.count {
            try producer.send(
                topic: topic,
                partition: partitionOf(index),
                key: Array((rows.labels[index] == 1 ? "1" : "0").utf8),
                value: Array(rows.values[index].utf8)
            )
        }
        try flush()
    }

    /// Produces one message as it is (for malformed records).
    func produceRaw(_ topic: String, partition: Int32, key: String?, value: String?) throws {
        try producer.send(
            topic: topic,
            partition: partition,
            key: key.map { Array($0.utf8) },
            value: value.map { Array($0.utf8) }
        )
    }

    func flush() throws {
        try producer.flush(timeout: .seconds(20))
        #expect(
            producer.failedDeliveryCount == 0,
            "delivery failed: \(String(describing: producer.firstDeliveryError))"
        )
    }

    /// The low and high watermarks of a partition.
    func watermarks(_ topic: String, _ partition: Int32) throws -> KafkaWatermarks {
        try producer.queryWatermarks(topic: topic, partition: partition, timeout: .seconds(10))
    }

    /// The group's committed offsets of `topic`'s partitions (partitions without one left out).
    func committedOffsets(group: String, topic: String) throws -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for (partition, offset) in try admin.listGroupOffsets(group: group, topics: [topic], timeout: .seconds(10)) {
            offsets[partition.partition] = offset
        }
        return offsets
    }
}

/// A scratch directory removed when the value goes away.
final class TrainEvaluateScratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "streamlearn-train-evaluate-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }
}

/// One row of `evaluate`'s table.
struct TrainEvaluateTableRow: Equatable {
    var partition: String
    var records: Int
    var skipped: Int
    var loss: String
    var accuracy: String
    var auc: String
    var offsets: String
}

enum TrainEvaluateTable {
    /// The table rows of `evaluate`'s standard output, keyed by the PARTITION cell ("0", "all").
    static func rows(_ output: String) -> [String: TrainEvaluateTableRow] {
        var rows: [String: TrainEvaluateTableRow] = [:]
        var inTable = false
        for line in output.split(separator: "\n") {
            let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if cells.first == "PARTITION" {
                inTable = true
                continue
            }
            guard inTable, cells.count == 7, let records = Int(cells[1]), let skipped = Int(cells[2]) else { continue }
            rows[cells[0]] = TrainEvaluateTableRow(
                partition: cells[0],
                records: records,
                skipped: skipped,
                loss: cells[3],
                accuracy: cells[4],
                auc: cells[5],
                offsets: cells[6]
            )
        }
        return rows
    }

    /// Loss, accuracy and AUC as `evaluate` prints them ("0.4437"), computed from probabilities
    /// that `predict` printed, for `labels`.
    static func expectedCells(probabilities: [Double], labels: [Float]) -> (loss: String, accuracy: String, auc: String)
    {
        var metrics = BinaryClassificationMetrics()
        for (probability, label) in zip(probabilities, labels) {
            // The logit behind the probability; predict prints probabilities, evaluate ranks logits.
            metrics.add(logit: Float(log(probability) - log1p(-probability)), label: label)
        }
        func cell(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }
        return (cell(metrics.meanLogLoss), cell(metrics.accuracy), cell(metrics.auc()))
    }
}
