import Foundation
import Kafka
import StreamLearnCore
import Testing

/// `streamlearn train` and `streamlearn evaluate` against an in-process mock cluster, through
/// the built binary, as a user of the TensorFlow-IO tutorial would run them.
@Suite("train and evaluate against the mock cluster")
struct TrainEvaluateProcessTests {
    @Test("train reaches the accuracy of in-memory training of the same model, within one point")
    func trainMatchesInMemoryTraining() throws {
        let kafka = try TrainEvaluateCluster(topics: [("susy-train", 1)])
        let training = TrainEvaluateRows(count: 6000, seed: 11)
        let heldOut = TrainEvaluateRows(count: 5000, seed: 12)
        try kafka.produce(training, to: "susy-train")
        let scratch = try TrainEvaluateScratch()
        let modelPath = scratch.file("susy.slck")

        let result = try TestBinary.run(
            ["train", "--topic", "susy-train", "--epochs", "3", "--out", modelPath, "-b", kafka.bootstrap],
            timeout: .seconds(120)
        )
        try #require(result.status == 0, "stderr: \(result.standardError)")

        // One line per epoch, each over every record of the partition.
        let epochLines = result.lines.filter { $0.hasPrefix("epoch ") }
        #expect(epochLines.count == 3, "stdout: \(result.standardOutput)")
        for (index, line) in epochLines.enumerated() {
            #expect(line.hasPrefix("epoch \(index + 1)/3: 6000 records, loss "), "\(line)")
            #expect(line.contains("records/s"))
        }
        #expect(try kafka.watermarks("susy-train", 0).low == 0, "the broker dropped records")

        let checkpoint = try CheckpointStore.read(path: modelPath)
        // What `streamlearn run` needs to carry on: the next offset and the daemon's counts.
        #expect(checkpoint.offsets == [TopicPartition(topic: "susy-train", partition: 0): 6000])
        #expect(checkpoint.metadata["records_trained"] == "6000" && checkpoint.metadata["bad_records"] == "0")
        let streamed = try Model(state: checkpoint.model)
        #expect(streamed.recordsTrained == 18_000)

        let inMemory = Model(configuration: .tutorial)
        let features = try training.featureMatrix()
        try features.withUnsafeBufferPointer { features in
            try training.labels.withUnsafeBufferPointer { labels in
                _ = try inMemory.fit(features: features, labels: labels, batchSize: 64, epochs: 3, shuffle: true)
            }
        }
        let streamedAccuracy = try accuracy(of: streamed, on: heldOut)
        let inMemoryAccuracy = try accuracy(of: inMemory, on: heldOut)
        #expect(streamedAccuracy > 0.7, "the streamed model learned little: \(streamedAccuracy)")
        #expect(
            abs(streamedAccuracy - inMemoryAccuracy) <= 0.01,
            "held-out accuracy: streamed \(streamedAccuracy), in memory \(inMemoryAccuracy)"
        )
    }

    @Test("epochs from the --cache give the very model that epochs read from Kafka give")
    func cachedEpochsMatchKafkaEpochs() throws {
        let kafka = try TrainEvaluateCluster(topics: [("susy-cache", 1)])
        try kafka.produce(TrainEvaluateRows(count: 700, seed: 51), to: "susy-cache")
        let scratch = try TrainEvaluateScratch()
        var states: [ModelState] = []
        for extra in [[], ["--cache"]] {
            let path = scratch.file("cache\(extra.count).slck")
            let result = try TestBinary.run(
                ["train", "--topic", "susy-cache", "--epochs", "3", "--batch-size", "32", "--out", path]
                    + extra + ["-b", kafka.bootstrap]
            )
            try #require(result.status == 0, "stderr: \(result.standardError)")
            #expect(result.lines.filter { $0.contains(": 700 records, loss ") }.count == 3, "\(result.standardOutput)")
            states.append(try CheckpointStore.read(path: path).model)
        }
        #expect(states[0] == states[1], "the cached run trained differently")
        #expect(states[0].recordsTrained == 2100)
    }

    @Test("evaluate matches offline predict, commits to the log end, and a second run sees only new records")
    func evaluateOncePerGroup() throws {
        let kafka = try TrainEvaluateCluster(topics: [("susy-test", 2)])
        let rows = TrainEvaluateRows(count: 3000, seed: 21)
        try kafka.produce(rows, to: "susy-test") { Int32($0 % 2) }
        let scratch = try TrainEvaluateScratch()
        let modelPath = try writeTrainedModel(in: scratch)
        let evaluate =
            ["evaluate", "--model", modelPath, "--topic", "susy-test", "--group", "testcg", "-b", kafka.bootstrap]
            + Self.shortSession

        let first = try TestBinary.run(evaluate)
        try #require(first.status == 0, "stderr: \(first.standardError)")
        let table = TrainEvaluateTable.rows(first.standardOutput)
        #expect(table["0"]?.records == 1500 && table["1"]?.records == 1500, "stdout: \(first.standardOutput)")
        #expect(table["0"]?.offsets == "0-1500" && table["1"]?.offsets == "0-1500")
        try expectScores(table["all"], matchPredictOf: rows, model: modelPath)
        try expectScores(table["1"], matchPredictOf: oddRows(rows), model: modelPath)

        // Committed offsets are the log-end offsets: no lag.
        let lags = try kafka.admin.lag(group: "testcg", topics: ["susy-test"], timeout: .seconds(10))
        #expect(lags.count == 2)
        for lag in lags {
            #expect(lag.committedOffset == 1500 && lag.logEndOffset == 1500 && lag.lag == 0, "\(lag)")
        }

        let second = try TestBinary.run(evaluate)
        #expect(second.status == 0, "stderr: \(second.standardError)")
        #expect(second.standardOutput.contains("no new records for group testcg"), "stdout: \(second.standardOutput)")
        #expect(TrainEvaluateTable.rows(second.standardOutput).isEmpty)

        let later = TrainEvaluateRows(count: 400, seed: 22)
        try kafka.produce(later, to: "susy-test") { Int32($0 % 2) }
        let third = try TestBinary.run(evaluate)
        try #require(third.status == 0, "stderr: \(third.standardError)")
        let thirdTable = TrainEvaluateTable.rows(third.standardOutput)
        #expect(thirdTable["0"]?.offsets == "1500-1700" && thirdTable["1"]?.offsets == "1500-1700")
        try expectScores(thirdTable["all"], matchPredictOf: later, model: modelPath)
        #expect(try kafka.watermarks("susy-test", 0).low == 0 && kafka.watermarks("susy-test", 1).low == 0)
    }

    @Test("after a run killed part-way, the next run scores exactly the records beyond the committed offsets")
    func killedRunIsResumedExactly() throws {
        let kafka = try TrainEvaluateCluster(topics: [("susy-kill", 2)])
        let rows = TrainEvaluateRows(count: 20_000, seed: 31)
        try kafka.produce(rows, to: "susy-kill") { Int32($0 % 2) }
        let scratch = try TrainEvaluateScratch()
        let modelPath = try writeTrainedModel(in: scratch)
        let evaluate =
            ["evaluate", "--model", modelPath, "--topic", "susy-kill", "--group", "killcg", "-b", kafka.bootstrap]
            + Self.shortSession

        // Batches of one record, each committed before the next is read: thousands of commits,
        // so the kill lands part-way, right after the first commit is seen.
        let slow = try TestBinary.start(evaluate + ["--stream-timeout", "-1", "--batch-size", "1"])
        let deadline = ContinuousClock.now + .seconds(30)
        var committed: [Int32: Int64] = [:]
        while committed.values.reduce(0, +) == 0 {
            try #require(ContinuousClock.now < deadline, "no commit within 30 s; stderr: \(slow.standardError)")
            committed = try kafka.committedOffsets(group: "killcg", topic: "susy-kill")
        }
        slow.send(SIGKILL)
        _ = slow.wait(timeout: .seconds(10))

        committed = try kafka.committedOffsets(group: "killcg", topic: "susy-kill")
        let committedTotal = Int(committed.values.reduce(0, +))
        try #require(committedTotal > 0 && committedTotal < 20_000, "the kill did not land part-way: \(committed)")

        let resumed = try TestBinary.run(evaluate)
        try #require(resumed.status == 0, "stderr: \(resumed.standardError)")
        let table = TrainEvaluateTable.rows(resumed.standardOutput)
        #expect(table["all"]?.records == 20_000 - committedTotal, "stdout: \(resumed.standardOutput)")
        for partition in [Int32(0), 1] {
            let start = committed[partition] ?? 0
            guard start < 10_000 else { continue }
            #expect(
                table["\(partition)"]?.offsets == "\(start)-10000",
                "partition \(partition) from \(start): \(resumed.standardOutput)"
            )
            #expect(table["\(partition)"]?.records == Int(10_000 - start))
        }
        #expect(try kafka.committedOffsets(group: "killcg", topic: "susy-kill") == [0: 10_000, 1: 10_000])
        #expect(try kafka.watermarks("susy-kill", 0).low == 0 && kafka.watermarks("susy-kill", 1).low == 0)
    }

    @Test("with --stream-timeout -1, evaluate waits for records until Ctrl-C, then prints the totals")
    func waitsUntilInterrupted() throws {
        let kafka = try TrainEvaluateCluster(topics: [("susy-wait", 2)])
        try kafka.produce(TrainEvaluateRows(count: 600, seed: 61), to: "susy-wait") { Int32($0 % 2) }
        let scratch = try TrainEvaluateScratch()
        let modelPath = try writeTrainedModel(in: scratch)
        let waiting = try TestBinary.start(
            ["evaluate", "--model", modelPath, "--topic", "susy-wait", "--group", "waitcg", "--stream-timeout", "-1"]
                + ["-b", kafka.bootstrap]
        )
        try waitForCommits(kafka, group: "waitcg", topic: "susy-wait", equalTo: [0: 300, 1: 300])

        // Records that arrive while it waits are scored too.
        try kafka.produce(TrainEvaluateRows(count: 100, seed: 62), to: "susy-wait") { Int32($0 % 2) }
        try waitForCommits(kafka, group: "waitcg", topic: "susy-wait", equalTo: [0: 350, 1: 350])
        waiting.send(SIGINT)
        let output = waiting.wait(timeout: .seconds(20))
        #expect(output.status == 0, "stderr: \(output.standardError)")
        #expect(output.standardOutput.contains("stopped by SIGINT"), "\(output.standardOutput)")
        #expect(TrainEvaluateTable.rows(output.standardOutput)["all"]?.records == 700, "\(output.standardOutput)")
    }

    @Test("malformed records are reported with partition and offset, skipped, and committed")
    func malformedRecordsAreSkipped() throws {
        let kafka = try TrainEvaluateCluster(topics: [("susy-bad", 1)])
        let rows = TrainEvaluateRows(count: 300, seed: 41)
        // Bad records at offsets 10 (a word for a number), 51 (label 7) and 102 (empty value).
        try kafka.produce(rows[0..<10], to: "susy-bad")
        // "x" before the second field: "0.97,x1.2,...".
        let wordy = rows.values[10].replacingOccurrences(of: ",", with: ",x", range: rows.values[10].range(of: ","))
        try kafka.produceRaw("susy-bad", partition: 0, key: "1", value: wordy)
        try kafka.produce(rows[10..<50], to: "susy-bad")
        try kafka.produceRaw("susy-bad", partition: 0, key: "7", value: rows.values[50])
        try kafka.produce(rows[50..<100], to: "susy-bad")
        try kafka.produceRaw("susy-bad", partition: 0, key: "0", value: "")
        try kafka.produce(rows[100..<300], to: "susy-bad")
        let scratch = try TrainEvaluateScratch()
        let modelPath = scratch.file("bad.slck")

        let trained = try TestBinary.run(
            ["train", "--topic", "susy-bad", "--epochs", "2", "--out", modelPath, "-b", kafka.bootstrap]
        )
        try #require(trained.status == 0, "stderr: \(trained.standardError)")
        let epochLines = trained.lines.filter { $0.hasPrefix("epoch ") }
        #expect(epochLines.count == 2)
        for line in epochLines {
            #expect(line.contains(": 300 records,") && line.hasSuffix(", 3 undecodable skipped"), "\(line)")
        }
        for offset in [10, 51, 102] {
            #expect(trained.standardError.contains("'susy-bad'[0]@\(offset)"), "stderr: \(trained.standardError)")
        }
        #expect(trained.standardError.contains("not a number: 'x"))
        // Shown once, in the first epoch.
        #expect(trained.standardError.components(separatedBy: "@51").count == 2)

        let evaluated = try TestBinary.run(
            ["evaluate", "--model", modelPath, "--topic", "susy-bad", "--group", "badcg", "-b", kafka.bootstrap]
        )
        try #require(evaluated.status == 0, "stderr: \(evaluated.standardError)")
        let table = TrainEvaluateTable.rows(evaluated.standardOutput)
        let row = try #require(table["0"], "stdout: \(evaluated.standardOutput)")
        #expect(row.records == 300 && row.skipped == 3 && row.offsets == "0-303", "\(row)")
        for offset in [10, 51, 102] {
            #expect(evaluated.standardError.contains("'susy-bad'[0]@\(offset)"), "stderr: \(evaluated.standardError)")
        }
        #expect(try kafka.committedOffsets(group: "badcg", topic: "susy-bad") == [0: 303])
    }

    @Test("--label column:0 reads the label from the value, for train and evaluate")
    func labelFromTheValue() throws {
        let kafka = try TrainEvaluateCluster(topics: [("susy-column", 2)])
        let rows = TrainEvaluateRows(count: 400, seed: 71)
        for index in 0..<rows.count {
            let value = (rows.labels[index] == 1 ? "1," : "0,") + rows.values[index]
            try kafka.produceRaw("susy-column", partition: Int32(index % 2), key: nil, value: value)
        }
        try kafka.flush()
        let scratch = try TrainEvaluateScratch()
        let modelPath = scratch.file("column.slck")

        let trained = try TestBinary.run(
            ["train", "--topic", "susy-column", "--partition", "1", "--epochs", "1", "--label", "column:0"]
                + ["--out", modelPath, "-b", kafka.bootstrap]
        )
        try #require(trained.status == 0, "stderr: \(trained.standardError)")
        #expect(trained.standardOutput.contains("epoch 1/1: 200 records,"), "\(trained.standardOutput)")

        let evaluated = try TestBinary.run(
            ["evaluate", "--model", modelPath, "--topic", "susy-column", "--group", "columncg", "--label", "column:0"]
                + ["-b", kafka.bootstrap]
        )
        try #require(evaluated.status == 0, "stderr: \(evaluated.standardError)")
        let all = try #require(TrainEvaluateTable.rows(evaluated.standardOutput)["all"])
        #expect(all.records == 400 && all.skipped == 0, "\(evaluated.standardOutput)")
    }

    @Test("bad arguments and a missing topic are refused with the flag or topic named")
    func refusesBadInput() throws {
        let kafka = try TrainEvaluateCluster(topics: [("present", 1)])
        let scratch = try TrainEvaluateScratch()

        let noOut = try TestBinary.run(["train", "--topic", "present", "-b", kafka.bootstrap])
        #expect(noOut.status == 64 && noOut.standardError.contains("'--out'"), "\(noOut.standardError)")

        let bareTimeout = try TestBinary.run(
            [
                "evaluate", "--model", "m", "--topic", "present", "--group", "g", "--stream-timeout", "10", "-b",
                kafka.bootstrap,
            ]
        )
        #expect(bareTimeout.status == 64 && bareTimeout.standardError.contains("'--stream-timeout'"))

        let missing = try TestBinary.run(
            ["train", "--topic", "absent", "--out", scratch.file("m.slck"), "-b", kafka.bootstrap]
        )
        #expect(missing.status == 65 && missing.standardError.contains("'absent'"), "\(missing.standardError)")

        let empty = try TestBinary.run(
            ["train", "--topic", "present", "--out", scratch.file("m.slck"), "-b", kafka.bootstrap]
        )
        #expect(empty.status == 65 && empty.standardError.contains("no records to train on"), "\(empty.standardError)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("m.slck")))

        let noModel = try TestBinary.run(
            [
                "evaluate", "--model", scratch.file("none.slck"), "--topic", "present", "--group", "g", "-b",
                kafka.bootstrap,
            ]
        )
        #expect(noModel.status == 74 && noModel.standardError.contains("none.slck"), "\(noModel.standardError)")
    }

    // MARK: - Helpers

    /// The mock's coordinator completes a group's later rebalances only after a session less
    /// one second, so a short session keeps repeated runs of one group quick; shorter than its
    /// 3 s first-join delay, though, and the joining member's session would expire.
    static let shortSession = ["-X", "session.timeout.ms=4000", "-X", "heartbeat.interval.ms=500"]

    /// Waits, with a deadline, until the group's committed offsets of `topic` are `expected`.
    private func waitForCommits(
        _ kafka: TrainEvaluateCluster,
        group: String,
        topic: String,
        equalTo expected: [Int32: Int64]
    ) throws {
        let deadline = ContinuousClock.now + .seconds(30)
        var committed: [Int32: Int64] = [:]
        while committed != expected {
            try #require(ContinuousClock.now < deadline, "committed offsets stayed at \(committed)")
            committed = try kafka.committedOffsets(group: group, topic: topic)
        }
    }

    /// Held-out accuracy of `model` on `rows`.
    private func accuracy(of model: Model, on rows: TrainEvaluateRows) throws -> Double {
        let features = try rows.featureMatrix()
        var scores = [Float](repeating: 0, count: rows.count)
        features.withUnsafeBufferPointer { features in
            scores.withUnsafeMutableBufferPointer { model.predictLogits(features: features, into: $0) }
        }
        let correct = zip(scores, rows.labels).filter { ($0 > 0) == ($1 == 1) }.count
        return Double(correct) / Double(rows.count)
    }

    /// A tutorial MLP trained for one epoch on 2,000 generated rows, saved as a checkpoint file.
    private func writeTrainedModel(in scratch: TrainEvaluateScratch) throws -> String {
        let rows = TrainEvaluateRows(count: 2000, seed: 5)
        let model = Model(configuration: .tutorial)
        let features = try rows.featureMatrix()
        try features.withUnsafeBufferPointer { features in
            try rows.labels.withUnsafeBufferPointer { labels in
                _ = try model.fit(features: features, labels: labels, batchSize: 64, epochs: 1, shuffle: true)
            }
        }
        let path = scratch.file("evaluate.slck")
        let directory = scratch.file("store")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let written = try CheckpointStore(directory: directory, keep: 1).write(
            Checkpoint(sequence: 1, model: model.state)
        )
        try FileManager.default.moveItem(atPath: written, toPath: path)
        return path
    }

    /// Rows with odd indices: those produced to partition 1.
    private func oddRows(_ rows: TrainEvaluateRows) -> TrainEvaluateRows {
        var odd = TrainEvaluateRows()
        for index in stride(from: 1, to: rows.count, by: 2) {
            odd.values.append(rows.values[index])
            odd.labels.append(rows.labels[index])
        }
        return odd
    }

    /// Checks a table row against `streamlearn predict` run on the same rows: same record count,
    /// same accuracy, loss and AUC within rounding of the fourth decimal.
    private func expectScores(
        _ row: TrainEvaluateTableRow?,
        matchPredictOf rows: TrainEvaluateRows,
        model: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let row = try #require(row, sourceLocation: sourceLocation)
        let predicted = try TestBinary.run(["predict", "--model", model], standardInput: rows.predictInput)
        try #require(
            predicted.status == 0,
            "predict failed: \(predicted.standardError)",
            sourceLocation: sourceLocation
        )
        let probabilities = predicted.lines.compactMap(Double.init)
        try #require(probabilities.count == rows.count, sourceLocation: sourceLocation)
        let expected = TrainEvaluateTable.expectedCells(probabilities: probabilities, labels: rows.labels)
        #expect(row.records == rows.count, sourceLocation: sourceLocation)
        #expect(
            row.accuracy == expected.accuracy,
            "evaluate \(row), predict \(expected)",
            sourceLocation: sourceLocation
        )
        #expect(
            abs((Double(row.loss) ?? -1) - (Double(expected.loss) ?? -2)) <= 0.00015,
            "evaluate \(row), predict \(expected)",
            sourceLocation: sourceLocation
        )
        #expect(
            abs((Double(row.auc) ?? -1) - (Double(expected.auc) ?? -2)) <= 0.00015,
            "evaluate \(row), predict \(expected)",
            sourceLocation: sourceLocation
        )
    }
}
