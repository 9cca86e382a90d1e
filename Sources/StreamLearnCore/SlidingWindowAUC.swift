/// ROC AUC over the most recent `capacity` predictions of a stream.
///
/// A ring buffer of packed (score, label) keys: adding overwrites the oldest entry and never
/// allocates; `auc()` copies the window into a scratch buffer made at init and radix-sorts it
/// there, so it allocates nothing either and costs time linear in the window. Scores may be
/// logits or probabilities (only their order matters; logits do not tie where probabilities
/// saturate). Labels of 0.5 or more count as positive; NaN scores rank below every number.
/// Memory: 24 bytes per slot. A value type; one owner at a time.
public struct SlidingWindowAUC: Sendable {
    /// The most predictions the window holds.
    public let capacity: Int
    /// Predictions currently in the window (at most `capacity`).
    public private(set) var count = 0
    private var ring: [UInt64]
    /// Twice the capacity: the sorted copy of the window and the radix sort's second buffer.
    private var scratch: [UInt64]
    /// Where the next key goes; once the window is full, also the oldest key.
    private var nextIndex = 0

    /// An empty window of `capacity` slots.
    ///
    /// - Precondition: `capacity >= 1` (configuration validates the operator's value).
    public init(capacity: Int) {
        precondition(capacity >= 1, "a sliding window needs at least one slot")
        self.capacity = capacity
        ring = [UInt64](repeating: 0, count: capacity)
        scratch = [UInt64](repeating: 0, count: 2 * capacity)
    }

    /// Adds one prediction, dropping the oldest when the window is full.
    public mutating func add(score: Float, label: Float) {
        ring[nextIndex] = ROCAUC.key(score: score, isPositive: label >= 0.5)
        nextIndex = nextIndex + 1 == capacity ? 0 : nextIndex + 1
        if count < capacity { count += 1 }
    }

    /// Adds one prediction per element, oldest first; the buffers have the same count.
    public mutating func add(scores: UnsafeBufferPointer<Float>, labels: UnsafeBufferPointer<Float>) {
        precondition(scores.count == labels.count, "one label per score")
        for index in 0..<scores.count { add(score: scores[index], label: labels[index]) }
    }

    /// The AUC of the predictions in the window, ties counted as one half; nil when the window
    /// holds only one class (or nothing).
    public mutating func auc() -> Double? {
        let count = count
        return ring.withUnsafeBufferPointer { ring in
            scratch.withUnsafeMutableBufferPointer { scratch in
                // Order inside the window does not matter for the AUC: copy the filled prefix.
                let keys = UnsafeMutableBufferPointer(rebasing: scratch[0..<count])
                _ = keys.initialize(from: UnsafeBufferPointer(rebasing: ring[0..<count]))
                let spare = UnsafeMutableBufferPointer(rebasing: scratch[count..<(2 * count)])
                return ROCAUC.compute(keys: keys, scratch: spare)
            }
        }
    }

    /// Empties the window, keeping its buffers.
    public mutating func reset() {
        count = 0
        nextIndex = 0
    }
}
