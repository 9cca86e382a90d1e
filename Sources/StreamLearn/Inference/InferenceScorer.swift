import Foundation
import Locking
import StreamLearnCore

/// Which model scored a prediction: its optimizer step and the checkpoint it was loaded from.
public struct ModelVersion: Sendable, Hashable {
    /// `Model.step` of the model that scored.
    public var step: Int64
    /// `Checkpoint.sequence` of the checkpoint holding that model, or nil when it was never
    /// saved (a fresh model before the first checkpoint).
    public var checkpointSequence: Int64?

    public init(step: Int64, checkpointSequence: Int64?) {
        self.step = step
        self.checkpointSequence = checkpointSequence
    }
}

/// Scores batches for the inference loop; the daemon decides which model that is.
///
/// Scoring must never change the model. Called on the inference thread while training goes on
/// elsewhere, so an implementation must not share scratch with a model that trains
/// (`ModelSnapshotScorer` keeps its own copy).
public protocol InferenceScorer: Sendable {
    /// Writes one logit per row into `logits` and returns the version that scored them.
    ///
    /// `features` holds `logits.count` rows of the model's input count, row after row, already
    /// checked finite by the decoder.
    func scoreLogits(features: UnsafeBufferPointer<Float>, into logits: UnsafeMutableBufferPointer<Float>)
        -> ModelVersion
}

/// An `InferenceScorer` over a private copy of a model, replaced whenever the daemon has a
/// newer one (after each checkpoint, so that every prediction names a checkpoint that
/// reproduces it with `streamlearn predict`).
///
/// Threads: `scoreLogits` and `replace` may be called from any thread; scoring holds a lock for
/// the batch, and `replace` builds the new model before taking the lock, so it waits at most
/// for one batch.
public final class ModelSnapshotScorer: InferenceScorer, @unchecked Sendable {
    // @unchecked: `current` (a non-Sendable model) is read and written only while `lock` is
    // held, which serialises scoring and replacement.
    private struct Snapshot {
        var model: Model
        var version: ModelVersion
    }

    private let lock = Locked(())
    private var current: Snapshot

    /// A scorer over a copy of `state`. Throws `ModelError` when the state is inconsistent.
    public init(state: ModelState, version: ModelVersion) throws {
        current = Snapshot(model: try Model(state: state), version: version)
    }

    /// Scores with a copy of `state` from now on.
    public func replace(with state: ModelState, version: ModelVersion) throws {
        let replacement = Snapshot(model: try Model(state: state), version: version)
        lock.withLock { _ in current = replacement }
    }

    /// The version that scores now.
    public var version: ModelVersion { lock.withLock { _ in current.version } }

    public func scoreLogits(
        features: UnsafeBufferPointer<Float>,
        into logits: UnsafeMutableBufferPointer<Float>
    ) -> ModelVersion {
        lock.withLock { _ in
            current.model.predictLogits(features: features, into: logits)
            return current.version
        }
    }
}

/// The probability of a logit, computed exactly as `Model.predict` computes it, so that a
/// prediction's score equals what `streamlearn predict` prints for the same checkpoint.
func probability(ofLogit logit: Float) -> Float {
    if logit >= 0 {
        return 1 / (1 + exp(-logit))
    }
    let exponential = exp(logit)
    return exponential / (1 + exponential)
}
