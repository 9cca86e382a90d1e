import Locking
import StreamLearnCore

/// What the inference loop did over one metrics interval, for the metrics message.
public struct InferenceMetricsSnapshot: Sendable, Equatable {
    /// Records read from the inference topics (good and bad).
    public var records = 0
    /// Predictions delivered to the predictions topic.
    public var predictions = 0
    /// Records that could not be decoded (dead-lettered when a dead-letter topic is set).
    public var badRecords = 0
    /// Records skipped because the predictions topic already held their prediction (only
    /// after a restart or reassignment with delivery "exactly-once").
    public var alreadyPredicted = 0
    /// Labelled records among the predictions.
    public var labelledRecords = 0
    /// Accuracy over the labelled records (threshold 0.5), nil without any.
    public var accuracy: Double?
    /// Mean binary cross-entropy over the labelled records, in nats, nil without any.
    public var loss: Double?
    /// ROC AUC over the labelled records, nil unless both classes occurred.
    public var auc: Double?

    public init() {}
}

/// Accumulates the inference loop's counts and its accuracy, loss and AUC on labelled records
/// (the tutorial's `model.evaluate`, live), interval by interval.
///
/// Threads: the loop adds from its thread; the metrics publisher takes `snapshot(reset:)` from
/// its own. The AUC keeps 8 bytes per labelled record until the next reset.
public final class InferenceMetrics: Sendable {
    private struct State {
        var interval = InferenceMetricsSnapshot()
        var total = InferenceMetricsSnapshot()
        var labelled = BinaryClassificationMetrics()
    }

    private let state = Locked(State())

    public init() {}

    /// Adds a delivered batch: record counts and the logits and labels of its labelled rows.
    func add(
        records: Int,
        predictions: Int,
        badRecords: Int,
        alreadyPredicted: Int,
        logits: UnsafeBufferPointer<Float>,
        labels: UnsafeBufferPointer<Float>
    ) {
        state.withLock { state in
            for snapshot in [\State.interval, \State.total] {
                state[keyPath: snapshot].records += records
                state[keyPath: snapshot].predictions += predictions
                state[keyPath: snapshot].badRecords += badRecords
                state[keyPath: snapshot].alreadyPredicted += alreadyPredicted
                state[keyPath: snapshot].labelledRecords += labels.count
            }
            state.labelled.add(logits: logits, labels: labels)
        }
    }

    /// The interval so far, with accuracy, loss and AUC; with `reset`, a new interval starts.
    public func snapshot(reset: Bool = true) -> InferenceMetricsSnapshot {
        state.withLock { state in
            var result = state.interval
            result.accuracy = state.labelled.accuracy
            result.loss = state.labelled.meanLogLoss
            result.auc = state.labelled.auc()
            if reset {
                state.interval = InferenceMetricsSnapshot()
                state.labelled.reset()
            }
            return result
        }
    }

    /// Counts since the loop started (accuracy, loss and AUC are left nil).
    public var totals: InferenceMetricsSnapshot { state.withLock { $0.total } }
}
