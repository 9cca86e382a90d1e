import StreamLearnCore

/// Collects records into mini-batches and trains `model` on each full batch, as Keras' `fit`
/// does with a batched dataset: one optimizer step per batch, in the order the records come.
///
/// The records arrive already shuffled (by a `ShuffleBuffer`), so each batch is trained as it
/// is, with `Model.fit(…, epochs: 1, shuffle: false)`; that call also feeds the batch to the
/// model's running standardiser first. The last, partial batch of a pass is trained by `flush`.
/// Loss and accuracy are summed over the pass from each batch's forward pass before its update,
/// as Keras' progress bar reports them.
///
/// One row-major batch buffer is allocated up front; adding a record copies its Floats into it,
/// nothing else. Not thread-safe: one owner (the training loop).
final class MiniBatchTrainer {
    let model: Model
    let batchSize: Int

    /// Records trained since the last `resetTotals`.
    private(set) var recordCount = 0
    private var lossSum = 0.0
    private var correctCount = 0

    private let featureCount: Int
    private let features: UnsafeMutablePointer<Float>
    private let labels: UnsafeMutablePointer<Float>
    private var pending = 0

    /// A trainer for `model` with batches of `batchSize` (at least 1) records.
    init(model: Model, batchSize: Int) {
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        self.model = model
        self.batchSize = batchSize
        featureCount = model.inputCount
        features = .allocate(capacity: batchSize * featureCount)
        features.initialize(repeating: 0, count: batchSize * featureCount)
        labels = .allocate(capacity: batchSize)
        labels.initialize(repeating: 0, count: batchSize)
    }

    deinit {
        features.deallocate()
        labels.deallocate()
    }

    /// Mean loss (nats per record) over the records trained since `resetTotals`; 0 before any.
    var meanLoss: Double { recordCount == 0 ? 0 : lossSum / Double(recordCount) }

    /// Fraction of the records trained since `resetTotals` that the model got right (before
    /// the update of their batch); 0 before any.
    var accuracy: Double { recordCount == 0 ? 0 : Double(correctCount) / Double(recordCount) }

    /// Adds one record (finite features, label 0 or 1); trains when the batch is full.
    ///
    /// Throws the model's error if it refuses the batch, which the decoder's checks rule out.
    @inline(__always)
    func add(features row: UnsafeBufferPointer<Float>, label: Float) throws {
        (features + pending * featureCount).update(from: row.baseAddress!, count: featureCount)
        labels[pending] = label
        pending += 1
        if pending == batchSize { try flush() }
    }

    /// Trains on the records collected so far (a partial batch at the end of a pass).
    func flush() throws {
        guard pending > 0 else { return }
        let rows = pending
        pending = 0
        let summary = try model.fit(
            features: UnsafeBufferPointer(start: features, count: rows * featureCount),
            labels: UnsafeBufferPointer(start: labels, count: rows),
            batchSize: rows,
            epochs: 1,
            shuffle: false
        )
        recordCount += summary.records
        lossSum += summary.meanLoss * Double(summary.records)
        // The summary's accuracy is a count over its records; round away the division.
        correctCount += Int((summary.accuracy * Double(summary.records)).rounded())
    }

    /// Starts new loss and accuracy totals (at the start of each epoch).
    func resetTotals() {
        recordCount = 0
        lossSum = 0
        correctCount = 0
    }
}
