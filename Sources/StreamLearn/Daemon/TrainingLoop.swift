import Foundation
import Kafka
import StreamLearnCore

/// The daemon's learning state and its per-poll step: decode a mini-dataset, score it with the
/// current model (prequential metrics), train on it, advance the per-partition next offsets.
///
/// Queue: owned by the daemon's serial training queue; every method runs there. Nothing else
/// touches the model, so a snapshot taken here is consistent: the model has learned exactly the
/// records before each partition's next offset. With an MLP, a poll's prequential scoring runs
/// on a queue of its own over a `PredictionSnapshot` while the model trains, and `train(_:)`
/// returns only after both.
///
/// Allocation: `train(_:)` decodes into buffers made at init (poll_max_records rows) and
/// allocates nothing per record; a partition seen for the first time, a bad record that is
/// logged, and the per-poll bookkeeping are the exceptions.
final class TrainingLoop {
    /// Called on the training queue for each record the decoder refuses, while the message is
    /// valid, after it has been counted and before its offset advances. The one place where bad
    /// records leave the loop: logging by default; a dead-letter producer can take it over.
    typealias BadRecordHandler = (_ message: KafkaMessage, _ failure: DecodeFailure) -> Void

    let model: Model
    /// Scores each poll while the model trains on it, when prediction costs enough to be worth
    /// a second core (the MLP) and there is one; nil scores first, on this thread.
    private let snapshot: PredictionSnapshot?
    private let scoringQueue = DispatchQueue(label: "streamlearn.prequential-scoring")
    private let scoring = DispatchGroup()
    private let decoder: RecordDecoder
    private let batchSize: Int
    private let epochs: Int
    private let isShuffling: Bool
    private let featureCount: Int
    private let capacity: Int

    private let features: UnsafeMutableBufferPointer<Float>
    private let labels: UnsafeMutableBufferPointer<Float>
    private let logits: UnsafeMutableBufferPointer<Float>

    /// Progress per partition; `partitionIndex` maps a partition to its slot.
    private(set) var partitions: [PartitionProgress] = []
    private var partitionIndex: [TopicPartition: Int] = [:]

    /// Where bad records go; see `BadRecordHandler`.
    var badRecordHandler: BadRecordHandler

    // Counters since this process started.
    private(set) var recordsTrained: Int64 = 0
    private(set) var badRecords: Int64 = 0
    /// Records received again below a partition's next offset and skipped (never trained twice).
    private(set) var duplicatesSkipped: Int64 = 0
    /// Records decoded or refused: changes whenever the state a checkpoint holds changes.
    private(set) var version: Int64 = 0

    // Prequential metrics: over the current metrics interval, since start, and a sliding AUC.
    private var intervalMetrics = BinaryClassificationMetrics(tracksAUC: false)
    private var totalMetrics = BinaryClassificationMetrics(tracksAUC: false)
    private var slidingAUC: SlidingWindowAUC

    init(
        model: Model,
        configuration: DaemonConfiguration,
        checkpoint: Checkpoint?,
        badRecordHandler: @escaping BadRecordHandler
    ) {
        self.model = model
        let hasSecondCore = ProcessInfo.processInfo.activeProcessorCount > 1
        snapshot = model.kind == .mlp && hasSecondCore ? PredictionSnapshot(of: model) : nil
        decoder = configuration.training.format.recordDecoder
        batchSize = configuration.training.batchSize
        epochs = configuration.training.epochsPerPoll
        isShuffling = configuration.training.isShuffling
        featureCount = configuration.training.format.featureCount
        capacity = configuration.training.pollMaxRecords
        features = .allocate(capacity: capacity * featureCount)
        features.initialize(repeating: 0)
        labels = .allocate(capacity: capacity)
        labels.initialize(repeating: 0)
        logits = .allocate(capacity: capacity)
        logits.initialize(repeating: 0)
        slidingAUC = SlidingWindowAUC(capacity: configuration.metrics.aucWindow)
        self.badRecordHandler = badRecordHandler
        if let checkpoint { restore(from: checkpoint) }
    }

    deinit {
        features.deallocate()
        labels.deallocate()
        logits.deallocate()
    }

    /// Seeds the partition table from a checkpoint: its offsets, and the counts its metadata
    /// carries.
    private func restore(from checkpoint: Checkpoint) {
        for (topicPartition, offset) in checkpoint.offsets.sorted(by: { $0.key < $1.key }) {
            slot(for: topicPartition)
            partitions[partitionIndex[topicPartition]!].nextOffset = offset
        }
        for (key, value) in checkpoint.metadata {
            guard let (kind, topicPartition) = PartitionProgress.parseKey(key), let count = Int64(value)
            else { continue }
            let index = slot(for: topicPartition)
            if kind == "trained" {
                partitions[index].trainedCount = count
            } else {
                partitions[index].badCount = count
            }
        }
    }

    /// The slot of `topicPartition`, created empty when new.
    @discardableResult
    private func slot(for topicPartition: TopicPartition) -> Int {
        if let index = partitionIndex[topicPartition] { return index }
        partitions.append(PartitionProgress(topicPartition))
        partitionIndex[topicPartition] = partitions.count - 1
        return partitions.count - 1
    }

    // MARK: - The step

    /// Learns from one poll's records, in the order received.
    ///
    /// Records below their partition's next offset were learned already (a re-delivery after a
    /// rebalance) and are skipped. Each other record is decoded; a refused one is counted and
    /// handed to `badRecordHandler`. The decoded rows are scored with the current model, then
    /// trained on; every record's offset advances, good or bad.
    func train(_ batch: KafkaMessageBatch) {
        guard !batch.isEmpty else { return }
        var rowCount = 0
        var currentTopic: KafkaTopicIdentity?
        var currentPartition: Int32 = -1
        var index = 0

        for position in batch.indices {
            let message = batch[position]
            let topic = message.topicIdentity
            let partition = message.partition
            if topic != currentTopic || partition != currentPartition {
                // A new run of records from one partition: look its slot up once per run.
                currentTopic = topic
                currentPartition = partition
                index = slot(for: TopicPartition(topic: message.topic, partition: partition))
            }
            let offset = message.offset
            if let next = partitions[index].nextOffset, offset < next {
                duplicatesSkipped += 1
                continue
            }
            let row = UnsafeMutableBufferPointer(
                rebasing: features[(rowCount * featureCount)..<((rowCount + 1) * featureCount)]
            )
            do {
                labels[rowCount] = try decoder.decode(key: message.key, value: message.value, into: row) ?? 0
                rowCount += 1
                partitions[index].trainedCount += 1
            } catch {
                partitions[index].badCount += 1
                badRecords += 1
                badRecordHandler(message, error)
            }
            partitions[index].nextOffset = offset + 1
            version += 1
        }
        guard rowCount > 0 else { return }

        let rows = UnsafeBufferPointer(rebasing: features[0..<(rowCount * featureCount)])
        let rowLabels = UnsafeBufferPointer(rebasing: labels[0..<rowCount])
        let rowLogits = UnsafeMutableBufferPointer(rebasing: logits[0..<rowCount])
        if let snapshot {
            // Score with the model from before this poll on a second core while it trains.
            snapshot.capture(model)
            let work = OverlappedStep(snapshot: snapshot, rows: rows, logits: rowLogits)
            scoringQueue.async(group: scoring) { work.score() }
            fit(rows: rows, labels: rowLabels)
            scoring.wait()
        } else {
            model.predictLogits(features: rows, into: rowLogits)
            fit(rows: rows, labels: rowLabels)
        }
        let scored = UnsafeBufferPointer(rowLogits)
        intervalMetrics.add(logits: scored, labels: rowLabels)
        totalMetrics.add(logits: scored, labels: rowLabels)
        slidingAUC.add(scores: scored, labels: rowLabels)
        recordsTrained += Int64(rowCount)
    }

    private func fit(rows: UnsafeBufferPointer<Float>, labels: UnsafeBufferPointer<Float>) {
        do {
            try model.fit(features: rows, labels: labels, batchSize: batchSize, epochs: epochs, shuffle: isShuffling)
        } catch {
            // The decoder refuses everything fit refuses (non-finite numbers, labels other
            // than 0 and 1, wrong shapes), so this is a programming error.
            preconditionFailure("training refused decoded records: \(error)")
        }
    }

    /// One poll's scoring, run on `scoringQueue` while this queue trains: it reads the rows and
    /// the snapshot and writes only `logits`, none of which training writes or reads, and the
    /// training queue waits for it before it reads the logits or captures the next snapshot.
    private struct OverlappedStep: @unchecked Sendable {
        let snapshot: PredictionSnapshot
        let rows: UnsafeBufferPointer<Float>
        let logits: UnsafeMutableBufferPointer<Float>

        func score() { snapshot.predictLogits(features: rows, into: logits) }
    }

    // MARK: - Rebalances

    /// Where each of `assigned` should start: the next offset this loop knows (from the
    /// checkpoint or from training), which wins over the group's committed offset. Partitions
    /// without one are left out, so the committed offset or auto.offset.reset serves them.
    func startOffsets(for assigned: [TopicPartition]) -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for topicPartition in assigned {
            let index = slot(for: topicPartition)
            if let next = partitions[index].nextOffset { result[topicPartition] = next }
        }
        return result
    }

    // MARK: - Snapshots

    /// The checkpoint of the current state: model, next offsets of every known partition, and
    /// metadata (`metadata` merged with the per-partition counts and totals).
    func checkpoint(sequence: Int64, metadata: [String: String]) -> Checkpoint {
        var offsets: [TopicPartition: Int64] = [:]
        var fullMetadata = metadata
        var trainedTotal: Int64 = 0
        var badTotal: Int64 = 0
        for progress in partitions {
            if let next = progress.nextOffset { offsets[progress.topicPartition] = next }
            if progress.trainedCount > 0 {
                fullMetadata[PartitionProgress.trainedKey(progress.topicPartition)] = String(progress.trainedCount)
            }
            if progress.badCount > 0 {
                fullMetadata[PartitionProgress.badKey(progress.topicPartition)] = String(progress.badCount)
            }
            trainedTotal += progress.trainedCount
            badTotal += progress.badCount
        }
        fullMetadata[Self.recordsTrainedKey] = String(trainedTotal)
        fullMetadata[Self.badRecordsKey] = String(badTotal)
        return Checkpoint(sequence: sequence, model: model.state, offsets: offsets, metadata: fullMetadata)
    }

    /// Checkpoint metadata key: records trained on since the model was created, each once.
    static let recordsTrainedKey = "records_trained"
    /// Checkpoint metadata key: bad records met since the model was created.
    static let badRecordsKey = "bad_records"

    /// What the metrics report needs, taken at the end of an interval; resets the interval's
    /// prequential metrics.
    func takeMetricsSample() -> TrainingSample {
        let sample = TrainingSample(
            recordsTrained: recordsTrained,
            badRecords: badRecords,
            duplicatesSkipped: duplicatesSkipped,
            modelStep: model.step,
            intervalCount: intervalMetrics.count,
            intervalLoss: intervalMetrics.meanLogLoss,
            intervalAccuracy: intervalMetrics.accuracy,
            totalLoss: totalMetrics.meanLogLoss,
            totalAccuracy: totalMetrics.accuracy,
            auc: slidingAUC.auc(),
            nextOffsets: partitions.compactMap { progress in
                progress.nextOffset.map { (progress.topicPartition, $0) }
            }
        )
        intervalMetrics.reset()
        return sample
    }
}

/// The training loop's figures at one moment, for a metrics report.
struct TrainingSample: Sendable {
    var recordsTrained: Int64
    var badRecords: Int64
    var duplicatesSkipped: Int64
    var modelStep: Int64
    /// Records scored in the interval.
    var intervalCount: Int
    var intervalLoss: Double?
    var intervalAccuracy: Double?
    var totalLoss: Double?
    var totalAccuracy: Double?
    /// ROC AUC over the sliding window.
    var auc: Double?
    var nextOffsets: [(TopicPartition, Int64)]
}
