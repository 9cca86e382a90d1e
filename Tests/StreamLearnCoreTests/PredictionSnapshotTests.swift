import Testing

@testable import StreamLearnCore

@Suite("Prediction snapshots")
struct PredictionSnapshotTests {
    private static let rows = LabelledRows.generate(rowCount: 700, inputCount: 18, seed: 11) { row in
        row[0] + row[3] * row[5] > 0.2
    }

    private static func logits(_ predict: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void)
        -> [Float]
    {
        var logits = [Float](repeating: .nan, count: rows.rowCount)
        rows.features.withUnsafeBufferPointer { features in
            logits.withUnsafeMutableBufferPointer { logits in predict(features, logits) }
        }
        return logits
    }

    @Test(
        "a snapshot scores as the model did when it was taken, while the model trains on",
        arguments: [ModelConfiguration(), ModelConfiguration.logistic()]
    )
    func scoresAsCaptured(configuration: ModelConfiguration) throws {
        let model = Model(configuration: configuration)
        try model.fit(Self.rows.slice(0..<300), batchSize: 32)
        let before = Self.logits { model.predictLogits(features: $0, into: $1) }
        let snapshot = PredictionSnapshot(of: model)

        try model.fit(Self.rows.slice(300..<700), batchSize: 32)
        let after = Self.logits { model.predictLogits(features: $0, into: $1) }
        let fromSnapshot = Self.logits { snapshot.predictLogits(features: $0, into: $1) }
        #expect(after != before, "training moved the model")
        #expect(fromSnapshot.count == before.count)
        for (snapshotLogit, modelLogit) in zip(fromSnapshot, before) {
            #expect(abs(snapshotLogit - modelLogit) <= 1e-5 * max(1, abs(modelLogit)))
        }

        snapshot.capture(model)
        let recaptured = Self.logits { snapshot.predictLogits(features: $0, into: $1) }
        for (snapshotLogit, modelLogit) in zip(recaptured, after) {
            #expect(abs(snapshotLogit - modelLogit) <= 1e-5 * max(1, abs(modelLogit)))
        }
    }
}
