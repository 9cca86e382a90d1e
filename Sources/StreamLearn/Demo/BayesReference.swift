import Foundation
import StreamLearnCore

/// What the best possible classifier scores on the generated rows: the exact posterior of
/// `SyntheticSUSY` under the concept each row was drawn from (the Bayes classifier), tallied
/// per concept, so a model's prequential figures can be set beside the ceiling.
///
/// Accuracy and log loss cover every row of a concept; the AUC covers that concept's newest
/// `aucWindow` rows, so memory stays bounded however long the demo runs. A value type; one
/// owner at a time.
struct BayesReference: Sendable {
    /// The ceiling for one concept.
    struct Figures: Sendable {
        var rows: Int
        var accuracy: Double?
        var logLoss: Double?
        var auc: Double?
    }

    private var original: Tally
    private var drifted: Tally

    init(aucWindow: Int = 100_000) {
        original = Tally(aucWindow: aucWindow)
        drifted = Tally(aucWindow: aucWindow)
    }

    /// Scores one row: its 18 features, its label (0 or 1) and the concept it was drawn from.
    mutating func add(features: UnsafeBufferPointer<Double>, label: Int, concept: SyntheticSUSY.Concept) {
        let probability = SyntheticSUSY.signalProbability(of: features, concept: concept)
        // A posterior of exactly 0 or 1 would give an infinite logit; the clamp costs nothing
        // measurable in accuracy or loss.
        let clamped = min(max(probability, 1e-9), 1 - 1e-9)
        let logit = Float(log(clamped / (1 - clamped)))
        switch concept {
        case .original: original.add(logit: logit, label: Float(label))
        case .drifted: drifted.add(logit: logit, label: Float(label))
        }
    }

    /// The ceiling over the rows of `concept` so far.
    mutating func figures(for concept: SyntheticSUSY.Concept) -> Figures {
        switch concept {
        case .original: original.figures()
        case .drifted: drifted.figures()
        }
    }

    private struct Tally: Sendable {
        var metrics = BinaryClassificationMetrics(tracksAUC: false)
        var window: SlidingWindowAUC

        init(aucWindow: Int) {
            window = SlidingWindowAUC(capacity: aucWindow)
        }

        mutating func add(logit: Float, label: Float) {
            metrics.add(logit: logit, label: label)
            window.add(score: logit, label: label)
        }

        mutating func figures() -> Figures {
            Figures(rows: metrics.count, accuracy: metrics.accuracy, logLoss: metrics.meanLogLoss, auc: window.auc())
        }
    }
}
