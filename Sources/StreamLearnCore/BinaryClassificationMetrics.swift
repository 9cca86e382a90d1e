import Foundation

/// Accuracy, mean log loss and exact ROC AUC of a binary classifier over everything added.
///
/// Feed it logits (not probabilities): the loss is computed from the logit, which stays exact
/// where a probability has rounded to 0 or 1, and the AUC ranks logits, which do not tie where
/// probabilities saturate. Labels are 0 or 1; a label of 0.5 or more counts as positive. The
/// predicted class is positive when the logit is above 0 (probability above 0.5, Keras'
/// threshold). A NaN logit makes the mean loss NaN, counts as a negative prediction, and ranks
/// below every number in the AUC.
///
/// Memory: the AUC needs every score, 8 bytes per record added, until `reset`; use
/// `SlidingWindowAUC` for an unbounded stream. A value type; one owner at a time.
public struct BinaryClassificationMetrics: Sendable {
    /// Records added.
    public private(set) var count = 0
    /// Records whose predicted class matched the label.
    public private(set) var correctCount = 0
    /// Records with a positive label.
    public private(set) var positiveCount = 0
    /// Sum of binary cross-entropies, in nats.
    public private(set) var logLossSum = 0.0
    /// Whether scores are kept for `auc()`.
    public let isTrackingAUC: Bool
    private var keys: [UInt64] = []

    /// Empty metrics; `reservingCapacity` sizes the score store for an evaluation set of known
    /// size, so that adding does not reallocate.
    public init(tracksAUC: Bool = true, reservingCapacity: Int = 0) {
        isTrackingAUC = tracksAUC
        if tracksAUC { keys.reserveCapacity(reservingCapacity) }
    }

    /// Adds one prediction.
    public mutating func add(logit: Float, label: Float) {
        let isPositive = label >= 0.5
        count += 1
        if isPositive { positiveCount += 1 }
        if (logit > 0) == isPositive { correctCount += 1 }
        logLossSum += BinaryClassificationMetrics.logLoss(logit: Double(logit), label: Double(label))
        if isTrackingAUC { keys.append(ROCAUC.key(score: logit, isPositive: isPositive)) }
    }

    /// Adds one prediction per element; the buffers have the same count.
    public mutating func add(logits: UnsafeBufferPointer<Float>, labels: UnsafeBufferPointer<Float>) {
        precondition(logits.count == labels.count, "one label per logit")
        for index in 0..<logits.count { add(logit: logits[index], label: labels[index]) }
    }

    /// Mean log loss in nats, or nil before the first record.
    public var meanLogLoss: Double? { count == 0 ? nil : logLossSum / Double(count) }

    /// Fraction of correct predictions, or nil before the first record.
    public var accuracy: Double? { count == 0 ? nil : Double(correctCount) / Double(count) }

    /// Exact ROC AUC over every record added, ties counted as one half; nil when only one class
    /// (or nothing) was seen, or when the AUC is not tracked. Sorts a copy: O(count) memory.
    public func auc() -> Double? {
        guard isTrackingAUC else { return nil }
        var sorted = keys
        var scratch = [UInt64](repeating: 0, count: sorted.count)
        return sorted.withUnsafeMutableBufferPointer { keys in
            scratch.withUnsafeMutableBufferPointer { ROCAUC.compute(keys: keys, scratch: $0) }
        }
    }

    /// Forgets every record, keeping the score store's capacity.
    public mutating func reset() {
        count = 0
        correctCount = 0
        positiveCount = 0
        logLossSum = 0
        keys.removeAll(keepingCapacity: true)
    }

    /// Binary cross-entropy of a logit against a label, stable for any magnitude:
    /// max(z, 0) - z y + log(1 + exp(-|z|)).
    static func logLoss(logit: Double, label: Double) -> Double {
        // exp of a non-positive number cannot overflow; log1p keeps precision near 0.
        max(logit, 0) - logit * label + log1p(exp(-abs(logit)))
    }
}
