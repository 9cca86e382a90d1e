import Foundation
import Testing

@testable import StreamLearnCore

/// AUC by its definition: the fraction of (positive, negative) pairs ordered correctly, ties
/// counting one half. Quadratic, for checking the fast version.
private func pairwiseAUC(_ scores: [Float], _ labels: [Float]) -> Double? {
    var wins = 0.0
    var pairs = 0.0
    for (positive, positiveLabel) in zip(scores, labels) where positiveLabel == 1 {
        for (negative, negativeLabel) in zip(scores, labels) where negativeLabel == 0 {
            pairs += 1
            if positive > negative { wins += 1 } else if positive == negative { wins += 0.5 }
        }
    }
    return pairs == 0 ? nil : wins / pairs
}

@Suite("Binary classification metrics")
struct BinaryClassificationMetricsTests {
    @Test("computes the AUC of a hand-worked example with a tied pair")
    func handWorkedAUC() throws {
        // Positives 0.35, 0.8, 0.4; negatives 0.1, 0.4. Of the six pairs, 0.35 < 0.4 is wrong and
        // 0.4 = 0.4 is a tie: (4 + 0.5) / 6 = 0.75.
        var metrics = BinaryClassificationMetrics()
        for (score, label) in [(0.1, 0), (0.4, 0), (0.35, 1), (0.8, 1), (0.4, 1)] as [(Float, Float)] {
            metrics.add(logit: score, label: label)
        }
        #expect(metrics.auc() == 0.75)
        #expect(metrics.count == 5)
        #expect(metrics.positiveCount == 3)
    }

    @Test("has no AUC with one class or none, rather than NaN")
    func oneClass() {
        var metrics = BinaryClassificationMetrics()
        #expect(metrics.auc() == nil)
        #expect(metrics.accuracy == nil)
        #expect(metrics.meanLogLoss == nil)
        metrics.add(logit: 1, label: 1)
        metrics.add(logit: -1, label: 1)
        #expect(metrics.auc() == nil)
        metrics.add(logit: 3, label: 0)
        #expect(metrics.auc() == 0)
    }

    @Test("agrees with the pairwise definition on random scores with many ties")
    func matchesDefinition() throws {
        var generator = SeededGenerator(seed: 7)
        for trial in 0..<40 {
            let count = Int.random(in: 2...300, using: &generator)
            let levels = Int.random(in: 1...12, using: &generator)
            var scores: [Float] = (0..<count).map { _ in
                Float(Int.random(in: -levels...levels, using: &generator)) / 4
            }
            if trial % 3 == 0 { scores[0] = .infinity }
            if trial % 3 == 1 { scores[0] = -.infinity }
            if trial % 5 == 0 { scores = scores.map { $0 == 0 ? -0.0 : $0 } }
            let labels: [Float] = (0..<count).map { _ in Bool.random(using: &generator) ? 1 : 0 }
            var metrics = BinaryClassificationMetrics()
            for (score, label) in zip(scores, labels) { metrics.add(logit: score, label: label) }
            let expected = pairwiseAUC(scores, labels)
            let found = metrics.auc()
            #expect((found == nil) == (expected == nil), "trial \(trial)")
            if let found, let expected { #expect(abs(found - expected) < 1e-12, "trial \(trial)") }
        }
    }

    @Test("treats -0 and +0 as the same score")
    func signedZeros() {
        var metrics = BinaryClassificationMetrics()
        metrics.add(logit: -0.0, label: 1)
        metrics.add(logit: 0.0, label: 0)
        #expect(metrics.auc() == 0.5)
    }

    @Test("computes log loss from logits, exact where probabilities saturate")
    func logLoss() throws {
        var metrics = BinaryClassificationMetrics(tracksAUC: false)
        metrics.add(logit: 0, label: 1)
        metrics.add(logit: 0, label: 0)
        #expect(abs(try #require(metrics.meanLogLoss) - log(2.0)) < 1e-15)

        metrics.reset()
        metrics.add(logit: 100, label: 0)
        metrics.add(logit: -100, label: 1)
        #expect(abs(try #require(metrics.meanLogLoss) - 100) < 1e-12)
        #expect(metrics.auc() == nil)

        metrics.reset()
        metrics.add(logit: 40, label: 1)
        let tiny = try #require(metrics.meanLogLoss)
        #expect(tiny > 0 && abs(tiny - exp(-40.0)) < 1e-25)
    }

    @Test("counts a prediction as positive above probability 0.5 only")
    func accuracyThreshold() {
        var metrics = BinaryClassificationMetrics()
        let logits: [Float] = [0, 0, 0.001, -0.001, 3, -3]
        let labels: [Float] = [0, 1, 1, 0, 0, 1]
        logits.withUnsafeBufferPointer { logits in
            labels.withUnsafeBufferPointer { metrics.add(logits: logits, labels: $0) }
        }
        #expect(metrics.correctCount == 3)
        #expect(metrics.accuracy == 0.5)
    }

    @Test("forgets everything on reset")
    func reset() {
        var metrics = BinaryClassificationMetrics()
        metrics.add(logit: 1, label: 1)
        metrics.add(logit: -1, label: 0)
        #expect(metrics.auc() == 1)
        metrics.reset()
        #expect(metrics.count == 0 && metrics.auc() == nil && metrics.accuracy == nil)
    }
}

@Suite("Sliding-window AUC")
struct SlidingWindowAUCTests {
    @Test("forgets predictions older than the window")
    func forgets() {
        var window = SlidingWindowAUC(capacity: 4)
        // Four predictions ranked exactly wrong...
        for (score, label) in [(0.9, 0), (0.8, 0), (0.2, 1), (0.1, 1)] as [(Float, Float)] {
            window.add(score: score, label: label)
        }
        #expect(window.auc() == 0)
        // ...pushed out by four ranked exactly right.
        for (score, label) in [(0.7, 1), (0.6, 1), (0.3, 0), (0.25, 0)] as [(Float, Float)] {
            window.add(score: score, label: label)
        }
        #expect(window.count == 4)
        #expect(window.auc() == 1)
        window.add(score: 0.05, label: 1)
        // Window: 0.6+, 0.3-, 0.25-, 0.05+ -> pairs: 0.6 beats both, 0.05 beats neither.
        #expect(window.auc() == 0.5)
    }

    @Test("equals the pairwise AUC of the last N predictions at every step")
    func matchesDefinition() {
        var generator = SeededGenerator(seed: 11)
        var window = SlidingWindowAUC(capacity: 37)
        var scores: [Float] = []
        var labels: [Float] = []
        for step in 0..<300 {
            let score = Float(Int.random(in: 0...20, using: &generator)) / 20
            let label: Float = Double.random(in: 0..<1, using: &generator) < Double(score) ? 1 : 0
            scores.append(score)
            labels.append(label)
            window.add(score: score, label: label)
            let expected = pairwiseAUC(Array(scores.suffix(37)), Array(labels.suffix(37)))
            let found = window.auc()
            #expect((found == nil) == (expected == nil), "step \(step)")
            if let found, let expected { #expect(abs(found - expected) < 1e-12, "step \(step)") }
        }
    }

    @Test("has no AUC while the window holds one class")
    func oneClass() {
        var window = SlidingWindowAUC(capacity: 3)
        #expect(window.auc() == nil)
        window.add(score: 0.2, label: 1)
        window.add(score: 0.9, label: 1)
        #expect(window.auc() == nil)
        window.add(score: 0.5, label: 0)
        #expect(window.auc() == 0.5)
        window.reset()
        #expect(window.count == 0 && window.auc() == nil)
    }
}

/// A deterministic generator for metrics tests (SplitMix64).
private struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
