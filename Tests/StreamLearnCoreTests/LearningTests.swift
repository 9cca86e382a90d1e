import Foundation
import Testing

@testable import StreamLearnCore

@Suite("Learning")
struct LearningTests {
    /// XOR of two signs: the label is 1 when x0 and x1 have the same sign. No line separates it.
    private static func xor(rowCount: Int, seed: UInt64) -> LabelledRows {
        LabelledRows.generate(rowCount: rowCount, inputCount: 2, seed: seed) { ($0[0] > 0) == ($0[1] > 0) }
    }

    @Test("An MLP learns XOR above 95% while logistic regression stays near chance")
    func xorProblem() throws {
        let training = Self.xor(rowCount: 4000, seed: 1)
        let evaluation = Self.xor(rowCount: 2000, seed: 2)

        let mlp = Model(
            configuration: ModelConfiguration(
                kind: .mlp,
                inputCount: 2,
                hiddenSizes: [32, 32],
                dropoutRates: [0, 0],
                learningRate: 0.01,
                seed: 7
            )
        )
        let logistic = Model(configuration: .logistic(inputCount: 2))
        var lastSummary = FitSummary(records: 0, meanLoss: 0, accuracy: 0)
        for _ in 0..<10 {
            lastSummary = try mlp.fit(training, batchSize: 32)
            try logistic.fit(training, batchSize: 32)
        }

        let mlpAccuracy = mlp.accuracy(on: evaluation)
        let logisticAccuracy = logistic.accuracy(on: evaluation)
        #expect(mlpAccuracy > 0.95, "MLP accuracy \(mlpAccuracy)")
        #expect(logisticAccuracy > 0.4 && logisticAccuracy < 0.6, "logistic accuracy \(logisticAccuracy)")
        // The summary reports what training saw, so it too is far above chance.
        #expect(lastSummary.records == 4000)
        #expect(lastSummary.accuracy > 0.9 && lastSummary.meanLoss < 0.3, "\(lastSummary)")
        #expect(mlp.step == 10 * 125 && mlp.recordsTrained == 40_000)
    }

    /// Eighteen standard normal features; the label depends on a product, a square and a
    /// sine besides one linear term, with 5% of labels flipped.
    private static func nonlinear(rowCount: Int, seed: UInt64) -> LabelledRows {
        LabelledRows.generate(rowCount: rowCount, inputCount: 18, seed: seed, labelNoise: 0.05) { x in
            x[0] * x[1] + x[2] * x[2] - 1 + 0.5 * x[3] + sin(2 * x[4]) > 0
        }
    }

    @Test("The default MLP beats logistic regression on nonlinear data")
    func defaultNetworkBeatsLogisticRegression() throws {
        let data = Self.nonlinear(rowCount: 24_000, seed: 11)
        // The first 20,000 rows train, the last 4,000 evaluate, as a time-ordered split would.
        let training = data.slice(0..<20_000)
        let evaluation = data.slice(20_000..<24_000)
        let mlp = Model(configuration: .tutorial)
        let logistic = Model(configuration: .logistic())
        for _ in 0..<2 {
            try mlp.fit(training, batchSize: 64)
            try logistic.fit(training, batchSize: 64)
        }
        let mlpAccuracy = mlp.accuracy(on: evaluation)
        let logisticAccuracy = logistic.accuracy(on: evaluation)
        #expect(mlpAccuracy > logisticAccuracy + 0.08, "MLP \(mlpAccuracy), logistic \(logisticAccuracy)")
    }

    @Test("The standardiser tracks the mean and population variance of every row it was fit on")
    func standardizerStatistics() throws {
        var generator = RandomGenerator(seed: 3)
        var features: [Float] = []
        for _ in 0..<500 {
            features.append(Float(generator.nextStandardNormal() * 4 + 100))
            features.append(7)  // constant: centred, never divided by its zero deviation
        }
        let rows = LabelledRows(features: features, labels: [Float](repeating: 1, count: 500), inputCount: 2)
        let model = Model(
            configuration: ModelConfiguration(kind: .logistic, inputCount: 2, hiddenSizes: [], dropoutRates: [])
        )
        try model.fit(rows.slice(0..<123), batchSize: 32)
        try model.fit(rows.slice(123..<500), batchSize: 32)

        let column = stride(from: 0, to: features.count, by: 2).map { Double(features[$0]) }
        let mean = column.reduce(0, +) / 500
        let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 500
        let standardizer = model.state.standardizer
        #expect(standardizer.count == 500)
        #expect(abs(standardizer.means[0] - mean) <= 1e-9 * abs(mean))
        #expect(abs(standardizer.squaredDeviations[0] / 500 - variance) <= 1e-9 * variance)
        #expect(standardizer.means[1] == 7 && standardizer.squaredDeviations[1] == 0)
        let scores = model.probabilities(rows)
        #expect(scores.allSatisfy { $0.isFinite })
    }
}
