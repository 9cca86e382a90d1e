import Foundation
import StreamLearnCore
import Testing

@testable import StreamLearn

@Suite("Inference parts without a broker")
struct InferencePartsTests {
    static func rows(_ count: Int, inputs: Int) -> [Float] {
        (0..<(count * inputs)).map { Float(($0 * 37) % 101 - 50) / 25 }
    }

    static func trainedModel() throws -> Model {
        let model = Model(
            configuration: ModelConfiguration(
                kind: .mlp,
                inputCount: 3,
                hiddenSizes: [8],
                dropoutRates: [0],
                optimizer: .adam,
                learningRate: 0.01,
                isStandardizing: true,
                seed: 11
            )
        )
        let features = rows(64, inputs: 3)
        let labels = (0..<64).map { Float($0 % 2) }
        _ = try features.withUnsafeBufferPointer { features in
            try labels.withUnsafeBufferPointer { labels in
                try model.fit(features: features, labels: labels, batchSize: 16, epochs: 2, shuffle: false)
            }
        }
        return model
    }

    @Test("the snapshot scorer gives exactly Model.predict's probabilities and follows replace()")
    func snapshotScorerMatchesPredict() throws {
        let model = try Self.trainedModel()
        let original = model.state
        let scorer = try ModelSnapshotScorer(
            state: original,
            version: ModelVersion(step: model.step, checkpointSequence: 3)
        )
        let features = Self.rows(40, inputs: 3)
        var logits = [Float](repeating: 0, count: 40)
        var expected = [Float](repeating: 0, count: 40)
        let version = features.withUnsafeBufferPointer { features in
            logits.withUnsafeMutableBufferPointer { scorer.scoreLogits(features: features, into: $0) }
        }
        features.withUnsafeBufferPointer { features in
            expected.withUnsafeMutableBufferPointer { model.predict(features: features, into: $0) }
        }
        #expect(version == ModelVersion(step: model.step, checkpointSequence: 3))
        #expect(logits.map(probability(ofLogit:)) == expected)
        #expect(model.state == original)

        let fresh = Model(
            configuration: ModelConfiguration(
                kind: .mlp,
                inputCount: 3,
                hiddenSizes: [8],
                dropoutRates: [0],
                optimizer: .adam,
                learningRate: 0.01,
                isStandardizing: true,
                seed: 11
            )
        )
        try scorer.replace(with: fresh.state, version: ModelVersion(step: 0, checkpointSequence: nil))
        var replaced = [Float](repeating: 0, count: 40)
        let newVersion = features.withUnsafeBufferPointer { features in
            replaced.withUnsafeMutableBufferPointer { scorer.scoreLogits(features: features, into: $0) }
        }
        #expect(newVersion == ModelVersion(step: 0, checkpointSequence: nil))
        #expect(replaced != logits)
    }

    @Test("a prediction value is compact JSON with the label only when present and null for the unknown")
    func predictionValue() throws {
        var writer = PredictionValueWriter()
        writer.write(
            topic: "susy-test",
            partition: 2,
            offset: 77,
            score: 0.25,
            label: 1,
            version: ModelVersion(step: 40, checkpointSequence: 3)
        )
        #expect(
            String(decoding: writer.bytes, as: UTF8.self)
                == #"{"topic":"susy-test","partition":2,"offset":77,"score":0.25,"label":1,"model_step":40,"#
                + #""checkpoint_sequence":3}"#
        )
        writer.write(
            topic: "a\"b",
            partition: 0,
            offset: 0,
            score: .nan,
            label: nil,
            version: ModelVersion(step: 0, checkpointSequence: nil)
        )
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(
            text == #"{"topic":"a\"b","partition":0,"offset":0,"score":null,"model_step":0,"checkpoint_sequence":null}"#
        )
        #expect(try JSONSerialization.jsonObject(with: Data(writer.bytes)) is [String: Any])
    }

    @Test("inference records without a key are unlabelled, other keys must be labels")
    func inferenceDecoding() {
        let decoder = InferenceRecordDecoder(RecordDecoder(featureCount: 2, label: .key))
        var row: [Float] = [0, 0]
        func decode(_ key: String?, _ value: String) -> Result<Float?, DecodeFailure> {
            row.withUnsafeMutableBufferPointer { row in
                withOptionalInputBytes(key.map { Array($0.utf8) }) { key in
                    Array(value.utf8).withUnsafeBytes { value in
                        Result { () throws(DecodeFailure) -> Float? in
                            try decoder.decode(key: key, value: value, into: row)
                        }
                    }
                }
            }
        }
        #expect(decode(nil, "1,2") == .success(nil))
        #expect(decode("", "1,2") == .success(nil))
        #expect(decode("1", "1,2") == .success(1))
        #expect(decode("user-7", "1,2") == .failure(.badLabel(field: nil)))
        #expect(decode(nil, "1,x") == .failure(.notANumber(field: 1)))

        let column = InferenceRecordDecoder(RecordDecoder(featureCount: 2, label: .column(0)))
        var columnRow: [Float] = [0, 0]
        let label = columnRow.withUnsafeMutableBufferPointer { row in
            Array("0,1,2".utf8).withUnsafeBytes { value in try? column.decode(key: nil, value: value, into: row) }
        }
        #expect(label == 0)
        #expect(columnRow == [1, 2])
    }
}
