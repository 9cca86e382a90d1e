import Foundation
import Testing

@testable import StreamLearnCore

/// A labelled mini-dataset, row-major, as `Model.fit` takes it.
struct LabelledRows {
    var features: [Float]
    var labels: [Float]
    var inputCount: Int

    var rowCount: Int { labels.count }

    /// Rows `range` as their own dataset.
    func slice(_ range: Range<Int>) -> LabelledRows {
        LabelledRows(
            features: Array(features[(range.lowerBound * inputCount)..<(range.upperBound * inputCount)]),
            labels: Array(labels[range]),
            inputCount: inputCount
        )
    }

    /// Standard normal features; labels from `rule`, flipped with probability `labelNoise`.
    static func generate(
        rowCount: Int,
        inputCount: Int,
        seed: UInt64,
        labelNoise: Double = 0,
        rule: ([Double]) -> Bool
    ) -> LabelledRows {
        var generator = RandomGenerator(seed: seed)
        var features: [Float] = []
        var labels: [Float] = []
        features.reserveCapacity(rowCount * inputCount)
        for _ in 0..<rowCount {
            let row = (0..<inputCount).map { _ in generator.nextStandardNormal() }
            features += row.map { Float($0) }
            var label = rule(row)
            if generator.nextUnitDouble() < labelNoise { label.toggle() }
            labels.append(label ? 1 : 0)
        }
        return LabelledRows(features: features, labels: labels, inputCount: inputCount)
    }
}

extension Model {
    /// Trains on `rows` with the given settings (input known to be valid).
    @discardableResult
    func fit(_ rows: LabelledRows, batchSize: Int, epochs: Int = 1, shuffle: Bool = true) throws -> FitSummary {
        try rows.features.withUnsafeBufferPointer { features in
            try rows.labels.withUnsafeBufferPointer { labels in
                try fit(features: features, labels: labels, batchSize: batchSize, epochs: epochs, shuffle: shuffle)
            }
        }
    }

    /// Probabilities for every row of `rows`.
    func probabilities(_ rows: LabelledRows) -> [Float] {
        var scores = [Float](repeating: .nan, count: rows.rowCount)
        rows.features.withUnsafeBufferPointer { features in
            scores.withUnsafeMutableBufferPointer { scores in
                predict(features: features, into: scores)
            }
        }
        return scores
    }

    /// Share of `rows` whose probability is on the label's side of 0.5.
    func accuracy(on rows: LabelledRows) -> Double {
        let scores = probabilities(rows)
        let correct = zip(scores, rows.labels).filter { ($0 > 0.5) == ($1 == 1) }.count
        return Double(correct) / Double(rows.rowCount)
    }
}

/// Expects two states to be the same to the last bit (Float and Double compared as bit
/// patterns, so -0 and +0 differ and NaN equals itself).
func expectBitIdentical(
    _ first: ModelState,
    _ second: ModelState,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(first.kind == second.kind, sourceLocation: sourceLocation)
    #expect(first.inputCount == second.inputCount, sourceLocation: sourceLocation)
    #expect(first.hiddenSizes == second.hiddenSizes, sourceLocation: sourceLocation)
    #expect(
        first.dropoutRates.map(\.bitPattern) == second.dropoutRates.map(\.bitPattern),
        sourceLocation: sourceLocation
    )
    #expect(
        first.parameters.map(\.bitPattern) == second.parameters.map(\.bitPattern),
        "parameters",
        sourceLocation: sourceLocation
    )
    let firstOptimizer = first.optimizer
    let secondOptimizer = second.optimizer
    #expect(firstOptimizer.kind == secondOptimizer.kind, sourceLocation: sourceLocation)
    #expect(firstOptimizer.step == secondOptimizer.step, "optimizer step", sourceLocation: sourceLocation)
    #expect(
        [firstOptimizer.learningRate, firstOptimizer.beta1, firstOptimizer.beta2, firstOptimizer.epsilon]
            .map(\.bitPattern)
            == [secondOptimizer.learningRate, secondOptimizer.beta1, secondOptimizer.beta2, secondOptimizer.epsilon]
            .map(\.bitPattern),
        sourceLocation: sourceLocation
    )
    #expect(
        firstOptimizer.firstMoments.map(\.bitPattern) == secondOptimizer.firstMoments.map(\.bitPattern),
        "first moments",
        sourceLocation: sourceLocation
    )
    #expect(
        firstOptimizer.secondMoments.map(\.bitPattern) == secondOptimizer.secondMoments.map(\.bitPattern),
        "second moments",
        sourceLocation: sourceLocation
    )
    #expect(first.standardizer.isEnabled == second.standardizer.isEnabled, sourceLocation: sourceLocation)
    #expect(first.standardizer.count == second.standardizer.count, sourceLocation: sourceLocation)
    #expect(
        first.standardizer.means.map(\.bitPattern) == second.standardizer.means.map(\.bitPattern),
        "standardiser means",
        sourceLocation: sourceLocation
    )
    #expect(
        first.standardizer.squaredDeviations.map(\.bitPattern)
            == second.standardizer.squaredDeviations.map(\.bitPattern),
        "standardiser deviations",
        sourceLocation: sourceLocation
    )
    #expect(first.generatorState == second.generatorState, "generator", sourceLocation: sourceLocation)
    #expect(first.recordsTrained == second.recordsTrained, sourceLocation: sourceLocation)
    #expect(first.batchesTrained == second.batchesTrained, sourceLocation: sourceLocation)
}
