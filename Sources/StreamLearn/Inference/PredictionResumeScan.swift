import Kafka

/// Finds, per input partition, the last input offset whose prediction is already on the
/// predictions topic, by reading the tail of the predictions partitions backwards in growing
/// windows. The heart of delivery "exactly-once" (docs/predictions.md).
///
/// For each input partition the caller says below which offset everything is known to be
/// delivered (`settledOffsets`: the group's committed offset on assignment, the first offset of
/// a failed batch after a delivery failure). Predictions of one input partition are written in
/// input order, so the scan of a predictions partition can stop as soon as, for every input
/// partition mapped to it, it has seen one prediction below that offset: everything after it is
/// the part delivered but not committed. Without a settled offset (nothing committed yet) the
/// scan reads back to the low watermark. It reads at most `maximumRecords` per predictions
/// partition; past that it reports `isTruncated` and what it found so far.
///
/// Each window is read with a `KafkaPartitionReader` (its own client connection, no group), so
/// a scan costs one connection per window. Threads: a value type; `lastPredictedOffsets` may run
/// on any thread.
public struct PredictionResumeScan: Sendable {
    /// What a scan found.
    public struct Result: Sendable, Equatable {
        /// Per input partition, the highest input offset that has a prediction at or after
        /// the scanned windows' start; absent when none was seen.
        public var lastPredictedOffsets: [KafkaTopicPartition: Int64] = [:]
        /// Prediction messages read.
        public var recordsRead = 0
        /// True when a predictions partition hit `maximumRecords` before the scan could stop.
        public var isTruncated = false

        public init() {}
    }

    /// Client properties for the readers (bootstrap servers, security); no group.
    public let configuration: KafkaConfiguration
    public let predictionsTopic: String
    public let partitioner: PredictionPartitioner
    /// Records in the first window; each further window doubles.
    public let initialWindow: Int64
    /// The most prediction records read per predictions partition.
    public let maximumRecords: Int64
    /// How long the whole scan of one predictions partition may take.
    public let timeout: Duration

    public init(
        configuration: KafkaConfiguration,
        predictionsTopic: String,
        partitioner: PredictionPartitioner,
        initialWindow: Int64 = 4096,
        maximumRecords: Int64 = 10_000_000,
        timeout: Duration = .seconds(60)
    ) {
        precondition(initialWindow >= 1 && maximumRecords >= 1, "scan windows hold at least one record")
        var configuration = configuration
        configuration["enable.partition.eof"] = "true"
        configuration["group.id"] = nil
        self.configuration = configuration
        self.predictionsTopic = predictionsTopic
        self.partitioner = partitioner
        self.initialWindow = initialWindow
        self.maximumRecords = maximumRecords
        self.timeout = timeout
    }

    /// Scans the predictions partitions of `inputs` and returns, per input partition, the last
    /// offset already predicted.
    ///
    /// `settledOffsets` maps input partitions to the offset below which their predictions are
    /// known delivered (partitions left out have none). `watermarks` asks a partition's leader
    /// for its watermarks (a producer's or consumer's `queryWatermarks`). Throws a `KafkaError`
    /// when a broker does not answer, and `InferenceError.scanTimedOut` past `timeout`.
    public func lastPredictedOffsets(
        for inputs: [KafkaTopicPartition],
        settledOffsets: [KafkaTopicPartition: Int64],
        watermarks: (_ topic: String, _ partition: Int32) throws -> KafkaWatermarks
    ) throws -> Result {
        var result = Result()
        for (predictionPartition, members) in partitioner.group(inputs).sorted(by: { $0.key < $1.key }) {
            let bounds = try watermarks(predictionsTopic, predictionPartition)
            try scan(
                partition: predictionPartition,
                bounds: bounds,
                wanted: Set(members),
                settledOffsets: settledOffsets,
                into: &result
            )
        }
        return result
    }

    private func scan(
        partition: Int32,
        bounds: KafkaWatermarks,
        wanted: Set<KafkaTopicPartition>,
        settledOffsets: [KafkaTopicPartition: Int64],
        into result: inout Result
    ) throws {
        let deadline = ContinuousClock.now + timeout
        var unsettled = wanted
        var end = bounds.high
        var window = initialWindow
        var read: Int64 = 0
        let batch = KafkaMessageBatch(capacity: 1024)
        while !unsettled.isEmpty && end > bounds.low {
            guard read < maximumRecords else {
                result.isTruncated = true
                return
            }
            let start = max(bounds.low, end - min(window, maximumRecords - read))
            let reader = try KafkaPartitionReader(
                configuration: configuration,
                topic: predictionsTopic,
                partition: partition,
                startOffset: start,
                endOffset: end
            )
            var reachedEnd = reader.isFinished
            while !reachedEnd {
                guard ContinuousClock.now < deadline else {
                    throw InferenceError.scanTimedOut(
                        topic: predictionsTopic,
                        partition: partition,
                        timeout: timeout
                    )
                }
                try reader.read(into: batch, timeout: .milliseconds(100))
                if let failure = batch.errors.first { throw failure }
                for message in batch {
                    read += 1
                    result.recordsRead += 1
                    guard let source = Self.source(of: message), wanted.contains(source.partition) else {
                        continue
                    }
                    let known = result.lastPredictedOffsets[source.partition] ?? -1
                    result.lastPredictedOffsets[source.partition] = max(known, source.offset)
                    if let settled = settledOffsets[source.partition], source.offset < settled {
                        unsettled.remove(source.partition)
                    }
                }
                // The end may be a gap (a record the broker removed); EOF or the position says so.
                let atEnd = batch.partitionsAtEnd.contains(where: { $0.offset >= end })
                reachedEnd = reader.isFinished || atEnd || (reader.nextOffset ?? start) >= end
            }
            end = start
            window *= 2
        }
    }

    /// The source (input partition and offset) a prediction's headers name, or nil when they
    /// are missing or malformed.
    static func source(of message: KafkaMessage) -> (partition: KafkaTopicPartition, offset: Int64)? {
        guard let topic = message.header(named: RecordHeaderName.sourceTopic),
            let partitionText = message.header(named: RecordHeaderName.sourcePartition),
            let offsetText = message.header(named: RecordHeaderName.sourceOffset),
            let partition = Int32(String(decoding: partitionText, as: UTF8.self)),
            let offset = Int64(String(decoding: offsetText, as: UTF8.self))
        else {
            return nil
        }
        let name = String(decoding: topic, as: UTF8.self)
        return (KafkaTopicPartition(topic: name, partition: partition), offset)
    }
}
