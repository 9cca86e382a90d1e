import Foundation
import Gzip
import Kafka
import StreamLearnCore

/// Reads a labelled CSV dataset and produces it to a training topic and, optionally, a test
/// topic: label column 0 becomes the message key ("0" or "1"), the other columns, as written,
/// the value.
///
/// Rows go round-robin over each topic's partitions, by row (row i of a topic to partition
/// i mod P), so partitions get equal shares whatever the keys. Each partition has its own
/// `KafkaProduceBatch`, handed to librdkafka whole: no allocation per row on this side.
///
/// Partition p is written by producer p mod N of the N producers given: librdkafka compresses
/// on one thread per producer and broker, and compression is most of the work of a bulk load,
/// so two producers spread it over two cores. Each partition still has a single, idempotent
/// writer, so its rows keep their order.
///
/// Owned by one thread: `load()` runs the whole read-produce loop on the caller's thread and
/// serves delivery reports there.
final class DatasetLoader {
    /// Where the rows go and how many of them.
    struct Plan {
        var path: String
        var trainTopic: String
        var testTopic: String?
        var testFraction: Double
        var rowLimit: Int?
        var seed: UInt64
        var featureCount: Int?
        var hasHeader: Bool
        var skipsBadRows: Bool
    }

    /// What one run did, for the summary.
    struct Outcome {
        var rowsRead = 0
        var rowsRejected = 0
        var blankLines = 0
        /// Whether the test topic received exactly round(fraction × rows) rows.
        var isSplitExact = true
        var elapsed: Duration = .zero
        var topics: [TopicOutcome] = []

        var rowsWritten: Int { topics.reduce(0) { $0 + $1.rowsWritten } }
    }

    /// One topic's share: rows per partition and the watermarks before and after.
    struct TopicOutcome {
        var name: String
        var rowsPerPartition: [Int]
        var watermarksBefore: [KafkaWatermarks]
        var watermarksAfter: [KafkaWatermarks] = []

        var rowsWritten: Int { rowsPerPartition.reduce(0, +) }
    }

    /// A row that is not a label plus the expected numbers.
    struct BadRow: Error {
        let lineNumber: Int
        let reason: String
        /// Rows before it that reached the topics.
        var rowsDelivered = 0
    }

    /// The most rejected lines `--skip-bad` describes on stderr; the rest are only counted.
    static let describedRejectLimit = 10

    /// Messages per partition batch: large enough that librdkafka's per-call cost vanishes,
    /// small enough that a batch of SUSY's 470-byte rows stays near 1 MB.
    static let batchCapacity = 2048

    private let plan: Plan
    private let producers: [KafkaProducer]
    private let logger: Logger
    private let progress = ProgressReporter()

    /// A loader writing through `producers` (at least one).
    init(plan: Plan, producers: [KafkaProducer], logger: Logger) {
        precondition(!producers.isEmpty, "a loader needs a producer")
        self.plan = plan
        self.producers = producers
        self.logger = logger
    }

    /// A thrown marker that ends reading once `--rows` rows are in.
    private struct RowLimitReached: Error {}

    /// Counts the data rows of a plain (uncompressed) regular file in a first, cheap pass, so
    /// that the test split can be exact; nil for standard input and gzip files, where a second
    /// pass would cost as much as the first.
    static func countRows(path: String, hasHeader: Bool) throws -> Int? {
        guard path != "-" else { return nil }
        let reader = try GzipLineReader(path: path)
        guard reader.inputSize != nil else { return nil }
        struct Compressed: Error {}
        var rows = 0
        do {
            try reader.forEachLine { lineNumber, line in
                if reader.isCompressed { throw Compressed() }
                if hasHeader && lineNumber == 1 { return }
                if !Self.isBlank(line) { rows += 1 }
            }
        } catch is Compressed {
            return nil
        }
        return rows
    }

    /// Reads the file and produces every good row; throws `BadRow` (unless skipping bad rows),
    /// `GzipError` or `KafkaError`. On return every row is delivered or `load` has thrown.
    ///
    /// `partitionCounts` maps each topic to its partition count; `watermarksBefore` gives each
    /// partition's watermarks before loading, for the check that follows.
    func load(
        rowCount: Int?,
        partitionCounts: [String: Int],
        watermarksBefore: [String: [KafkaWatermarks]],
        deliveryTimeout: Duration
    ) throws -> Outcome {
        let start = ContinuousClock.now
        var outcome = Outcome()
        let reader = try GzipLineReader(path: plan.path)
        // The rows the split draws from: the file's, capped by --rows; unknown for a pipe.
        var selectorRows = rowCount ?? plan.rowLimit
        if let counted = rowCount, let limit = plan.rowLimit { selectorRows = Swift.min(counted, limit) }
        var selector = SplitSelector(
            testFraction: plan.testTopic == nil ? 0 : plan.testFraction,
            rowCount: selectorRows,
            seed: plan.seed
        )
        let targets = [plan.trainTopic] + (plan.testTopic.map { [$0] } ?? [])
        let sinks = targets.map { topic in
            TopicSink(topic: topic, partitionCount: partitionCounts[topic] ?? 1, producers: producers)
        }
        // Keys are the label as text; the two possible keys live for the whole run.
        let keys = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
        defer { keys.deallocate() }
        keys[0] = UInt8(ascii: "0")
        keys[1] = UInt8(ascii: "1")
        let zeroKey = UnsafeRawBufferPointer(rebasing: keys[0..<1])
        let oneKey = UnsafeRawBufferPointer(rebasing: keys[1..<2])

        var checker = plan.featureCount.map { CSVRowChecker(featureCount: $0) }
        defer { checker?.deallocate() }
        var rejectsShown = 0

        do {
            try reader.forEachLine { lineNumber, line in
                if plan.hasHeader && lineNumber == 1 { return }
                if Self.isBlank(line) {
                    outcome.blankLines += 1
                    return
                }
                if let limit = plan.rowLimit, outcome.rowsRead == limit { throw RowLimitReached() }
                outcome.rowsRead += 1

                if checker == nil {
                    // The first row fixes the width: its fields minus the label.
                    let fields = 1 + line.reduce(0) { $0 + ($1 == UInt8(ascii: ",") ? 1 : 0) }
                    guard fields >= 2 else {
                        throw BadRow(lineNumber: lineNumber, reason: "a row needs a label and at least one number")
                    }
                    checker = CSVRowChecker(featureCount: fields - 1)
                }
                let label: Int
                do {
                    label = try checker!.label(of: line)
                } catch let failure as DecodeFailure {
                    let reason = failure.description(key: nil, value: line)
                    guard plan.skipsBadRows else { throw BadRow(lineNumber: lineNumber, reason: reason) }
                    outcome.rowsRejected += 1
                    if rejectsShown < Self.describedRejectLimit {
                        rejectsShown += 1
                        logger.warning("Skipping line \(lineNumber) of \(displayName): \(reason)")
                    }
                    return
                }

                let sink = sinks[selector.nextIsTest() ? 1 : 0]
                let comma = line.firstIndex(of: UInt8(ascii: ","))!
                let value = UnsafeRawBufferPointer(rebasing: line[(comma + 1)...])
                try sink.append(key: label == 1 ? oneKey : zeroKey, value: value)

                if progress.isDue { drawProgress(outcome.rowsRead, reader, total: selectorRows) }
            }
        } catch is RowLimitReached {
            // --rows reached: the rest of the file is not read.
        } catch var badRow as BadRow {
            // Rows before the bad one are on their way; deliver them so that the message can
            // say exactly what the topics hold.
            progress.clear()
            for sink in sinks { try? sink.flush() }
            for producer in producers { try? producer.flush(timeout: deliveryTimeout) }
            // Successful deliveries may go unreported (delivery.report.only.error): count what
            // was sent and neither failed nor is still queued.
            let sent = sinks.reduce(0) { $0 + $1.rowsPerPartition.reduce(0, +) }
            let lost = producers.reduce(0) { $0 + $1.failedDeliveryCount + $1.outstandingCount }
            badRow.rowsDelivered = max(0, sent - lost)
            throw badRow
        }
        for sink in sinks { try sink.flush() }
        progress.clear()

        try deliverAll(timeout: deliveryTimeout)
        outcome.elapsed = ContinuousClock.now - start
        outcome.isSplitExact = plan.testTopic == nil || (selector.isExact && outcome.rowsRejected == 0)
        outcome.topics = sinks.map { sink in
            TopicOutcome(
                name: sink.topic,
                rowsPerPartition: sink.rowsPerPartition,
                watermarksBefore: watermarksBefore[sink.topic] ?? []
            )
        }
        return outcome
    }

    /// Waits for every queued message's delivery report; throws the first failed delivery.
    private func deliverAll(timeout: Duration) throws {
        let deadline = ContinuousClock.now + timeout
        var outstanding: Int { producers.reduce(0) { $0 + $1.outstandingCount } }
        while outstanding > 0, ContinuousClock.now < deadline {
            for producer in producers { producer.poll(timeout: .milliseconds(100 / producers.count)) }
            if progress.isDue {
                progress.draw("delivering: \(outstanding) messages still queued")
            }
        }
        progress.clear()
        for producer in producers { try producer.flush(timeout: .milliseconds(1)) }
        if let failure = producers.lazy.compactMap(\.firstDeliveryError).first {
            let failedCount = producers.reduce(0) { $0 + $1.failedDeliveryCount }
            throw LoadDeliveryFailure(failedCount: failedCount, first: failure)
        }
    }

    private var displayName: String { plan.path == "-" ? "standard input" : "'\(plan.path)'" }

    /// "loading: 120000 of 1000000 rows (12%)", or the share of the file read when the number
    /// of rows is not known.
    private func drawProgress(_ rows: Int, _ reader: GzipLineReader, total: Int?) {
        var text = "loading: \(rows) rows"
        if let total, total > 0 {
            text += String(format: " of %d (%.0f%%)", total, Double(rows) / Double(total) * 100)
        } else if let size = reader.inputSize, size > 0 {
            text += String(format: " (%.0f%% of the file)", Double(reader.inputBytesRead) / Double(size) * 100)
        }
        progress.draw(text)
    }

    /// True for a line of only spaces and tabs (or nothing).
    private static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }
}

/// Some messages could not be delivered.
struct LoadDeliveryFailure: Error {
    let failedCount: Int
    let first: KafkaError
}

/// One topic's batches, one per partition, the round-robin over them, and each partition's
/// producer.
private final class TopicSink {
    let topic: String
    private let batches: [KafkaProduceBatch]
    private let producers: [KafkaProducer]
    private(set) var rowsPerPartition: [Int]
    private var nextPartition = 0

    init(topic: String, partitionCount: Int, producers: [KafkaProducer]) {
        self.topic = topic
        self.producers = (0..<partitionCount).map { producers[$0 % producers.count] }
        batches = (0..<partitionCount).map { _ in
            KafkaProduceBatch(capacity: DatasetLoader.batchCapacity, bytesPerMessage: 192)
        }
        rowsPerPartition = Array(repeating: 0, count: partitionCount)
    }

    /// Adds a row to the next partition's batch, sending the batch when it is full.
    @inline(__always)
    func append(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        let partition = nextPartition
        nextPartition = partition + 1 == batches.count ? 0 : partition + 1
        let batch = batches[partition]
        batch.append(key: key, value: value, partition: Int32(partition))
        rowsPerPartition[partition] += 1
        if batch.isFull { try producers[partition].send(batch, topic: topic) }
    }

    /// Sends what the batches still hold.
    func flush() throws {
        for (partition, batch) in batches.enumerated() where !batch.isEmpty {
            try producers[partition].send(batch, topic: topic)
        }
    }
}
