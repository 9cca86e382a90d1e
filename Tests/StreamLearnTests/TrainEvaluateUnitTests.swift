import Foundation
import Locking
import StreamLearnCore
import Testing

@testable import StreamLearn

/// The pieces of `train` and `evaluate` that need no broker: the shuffle buffer, the batch
/// trainer, the reporter, the stream timeout and the undecodable-record report.
@Suite("train and evaluate building blocks")
struct TrainEvaluateUnitTests {
    @Test("the shuffle buffer hands out every record once, the k-th from the first capacity + k")
    func shuffleBufferFollowsTFDataSemantics() {
        let capacity = 8
        let buffer = ShuffleBuffer(capacity: capacity, featureCount: 2, generator: RandomGenerator(seed: 3))
        var emitted: [Int] = []
        func record(_ features: UnsafeBufferPointer<Float>, _ label: Float) {
            #expect(features[1] == features[0] * 2 && label == features[0].truncatingRemainder(dividingBy: 2))
            emitted.append(Int(features[0]))
        }
        for index in 0..<100 {
            let row = buffer.nextRow
            row[0] = Float(index)
            row[1] = Float(index * 2)
            buffer.insert(label: Float(index % 2), emit: record)
            #expect(buffer.count == min(index + 1, capacity))
        }
        #expect(emitted.count == 100 - capacity)
        buffer.drain(emit: record)
        #expect(buffer.count == 0)
        #expect(emitted.sorted() == Array(0..<100))
        for (position, index) in emitted.enumerated() {
            #expect(index < capacity + position, "record \(index) came out at \(position)")
        }
        #expect(emitted != Array(0..<100), "no shuffling happened")

        // The buffer is ready for the next pass, whose order differs.
        var second: [Int] = []
        for index in 0..<100 {
            buffer.nextRow[0] = Float(index)
            buffer.insert(label: 0) { features, _ in second.append(Int(features[0])) }
        }
        buffer.drain { features, _ in second.append(Int(features[0])) }
        #expect(second.sorted() == Array(0..<100) && second != emitted)
    }

    @Test("a shuffle buffer of one keeps the input order")
    func shuffleBufferOfOneKeepsOrder() {
        let buffer = ShuffleBuffer(capacity: 1, featureCount: 1, generator: RandomGenerator(seed: 1))
        var emitted: [Float] = []
        for index in 0..<10 {
            buffer.nextRow[0] = Float(index)
            buffer.insert(label: 0) { features, _ in emitted.append(features[0]) }
        }
        buffer.drain { features, _ in emitted.append(features[0]) }
        #expect(emitted == (0..<10).map(Float.init))
    }

    @Test("the batch trainer takes one optimizer step per full batch and one for the rest")
    func miniBatchTrainerStepsPerBatch() throws {
        let model = Model(configuration: .logistic(inputCount: 3))
        let trainer = MiniBatchTrainer(model: model, batchSize: 64)
        var generator = RandomGenerator(seed: 9)
        var row: [Float] = [0, 0, 0]
        for _ in 0..<130 {
            for index in 0..<3 { row[index] = Float(generator.nextStandardNormal()) }
            try row.withUnsafeBufferPointer { try trainer.add(features: $0, label: row[0] > 0 ? 1 : 0) }
        }
        #expect(model.step == 2 && trainer.recordCount == 128)
        try trainer.flush()
        #expect(model.step == 3 && trainer.recordCount == 130 && model.recordsTrained == 130)
        #expect(trainer.accuracy > 0 && trainer.accuracy <= 1 && trainer.meanLoss > 0)
        trainer.resetTotals()
        #expect(trainer.recordCount == 0 && trainer.meanLoss == 0)
    }

    @Test("epoch lines read like Keras' and the bar is drawn only on a terminal")
    func epochReporterLines() {
        let line = EpochReporter.epochLine(
            epoch: 3,
            of: 10,
            records: 60000,
            loss: 0.45123,
            accuracy: 0.79114,
            seconds: 0.84
        )
        #expect(line == "epoch 3/10: 60000 records, loss 0.4512, accuracy 0.7911, 0.84 s, 71429 records/s")

        let plain = Locked<[String]>([])
        let reporter = EpochReporter(epochCount: 2, isTerminal: false) { text in plain.withLock { $0.append(text) } }
        reporter.beginEpoch(1, expectedRecords: 10)
        reporter.progress(records: 5, loss: 0.5, accuracy: 0.5)
        reporter.endEpoch(records: 10, loss: 0.5, accuracy: 0.5, skipped: 2)
        let written = plain.withLock { $0 }
        #expect(written.count == 1)
        #expect(written.first?.hasPrefix("epoch 1/2: 10 records, loss 0.5000, accuracy 0.5000, ") == true)
        #expect(written.first?.hasSuffix(", 2 undecodable skipped\n") == true)

        let terminal = Locked<[String]>([])
        let barReporter = EpochReporter(epochCount: 1, isTerminal: true) { text in terminal.withLock { $0.append(text) }
        }
        barReporter.beginEpoch(1, expectedRecords: 10)
        barReporter.endEpoch(records: 10, loss: 0.5, accuracy: 0.5, skipped: 0)
        let drawn = terminal.withLock { $0 }
        #expect(drawn.first?.contains("[>") == true && drawn.last?.hasPrefix("\r\u{1B}[Kepoch 1/1: 10 records") == true)
    }

    @Test("stream timeouts are 0, -1 or a duration with a unit")
    func streamTimeoutParsing() {
        #expect(StreamTimeout(parsing: "0") == .atEnd)
        #expect(StreamTimeout(parsing: "-1") == .never)
        #expect(StreamTimeout(parsing: "10s") == .after(.seconds(10)))
        #expect(StreamTimeout(parsing: "500ms") == .after(.milliseconds(500)))
        #expect(StreamTimeout(parsing: "10000") == nil, "a bare number could mean milliseconds or seconds")
        #expect(StreamTimeout(parsing: "-5s") == nil)
        #expect(StreamTimeout(parsing: "0s") == nil)
        #expect(StreamTimeout(parsing: "soon") == nil)
        #expect(StreamTimeout.after(.seconds(10)).description == "10s")
    }

    @Test("undecodable records are counted by reason and the first few logged with partition and offset")
    func undecodableRecordsReport() {
        let lines = Locked<[String]>([])
        let logger = Logger(label: "test") { line in lines.withLock { $0.append(line) } }
        let records = UndecodableRecords(logger: logger)
        let value = Array("1,x,3".utf8)
        value.withUnsafeBytes { value in
            for offset in 0..<8 {
                records.record(
                    .notANumber(field: 1),
                    topic: "t",
                    partition: 2,
                    offset: Int64(offset),
                    key: nil,
                    value: value
                )
            }
        }
        records.record(.badLabel(field: nil), topic: "t", partition: 2, offset: 8, key: nil, value: nil)
        let logged = lines.withLock { $0 }
        #expect(logged.count == UndecodableRecords.shownInFull + 1)
        #expect(logged.first == "<4>test: Failed to decode record 't'[2]@0: field 2 is not a number: 'x', skipping")
        #expect(logged.last?.contains("Further undecodable records") == true)
        #expect(records.summary == "9 undecodable records skipped (bad_label 1, not_a_number 8)")
        records.resetCounts()
        #expect(records.count == 0 && records.summary == nil)
    }

    @Test("--label takes key or column:N with N from 0 to the feature count")
    func labelOption() throws {
        func parse(_ value: String?) throws -> RecordDecoder.LabelSource {
            var arguments = ParsedArguments(command: "train")
            if let value { arguments.values["label"] = [value] }
            return try RecordOptions.labelSource(arguments, featureCount: 18)
        }
        #expect(try parse(nil) == .key)
        #expect(try parse("key") == .key)
        #expect(try parse("column:0") == .column(0))
        #expect(try parse("column:18") == .column(18))
        for bad in ["column:19", "column:-1", "column:", "first", "value"] {
            #expect(throws: CommandError.self, "'\(bad)'") { try parse(bad) }
        }
        #expect(RecordOptions.describe(.column(3)) == "field 3 of the value")
    }
}
