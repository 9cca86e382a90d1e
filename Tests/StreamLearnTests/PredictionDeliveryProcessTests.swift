import Foundation
import Kafka
import StreamLearnCore
import Testing

/// Predictions of `streamlearn run` across crashes, process against process: a `streamlearn
/// broker`, the daemon killed with SIGKILL at chosen moments and restarted each time while
/// inference and training records stream in, then the whole predictions topic read back and
/// every score recomputed from the checkpoint it names.
@Suite("Prediction delivery under kill -9")
struct PredictionDeliveryProcessTests {
    @Test("exactly-once: five and more kills, one between delivery and commit, leave one prediction per input")
    func exactlyOnceAcrossKills() throws {
        let scenario = try PredictionScenario(delivery: "exactly-once", inputCount: 50_000, chunkSize: 5_000)
        let plan: [PredictionScenario.KillMoment] = [
            .midStream, .deliveredNotCommitted, .atAssignment, .midStream, .deliveredNotCommitted,
        ]
        var kills = try plan.map { try scenario.runAndKill(at: $0) }
        // Whether a kill lands between delivery and commit is timing; aim again until one does.
        while !kills.contains(where: \.leftUncommittedPredictions), kills.count < 9 {
            kills.append(try scenario.runAndKill(at: .deliveredNotCommitted))
        }
        for (number, kill) in kills.enumerated() { print("exactly-once kill \(number + 1): \(kill)") }
        #expect(kills.count >= 5)
        let inWindow = kills.filter(\.leftUncommittedPredictions).count
        #expect(inWindow >= 1, "no kill between delivery and commit")
        try scenario.finish()

        let report = try scenario.verify()
        print("exactly-once: \(report)")
        #expect(report.duplicates == 0)
        #expect(report.predictions == 50_000)
    }

    @Test("at-least-once: three kills leave at least one prediction per input")
    func atLeastOnceAcrossKills() throws {
        let scenario = try PredictionScenario(delivery: "at-least-once", inputCount: 10_000, chunkSize: 2_000)
        let kills = try [.deliveredNotCommitted, .atAssignment, .midStream].map { try scenario.runAndKill(at: $0) }
        for (number, kill) in kills.enumerated() { print("at-least-once kill \(number + 1): \(kill)") }
        try scenario.finish()

        let report = try scenario.verify()
        // Duplicates depend on where the kills landed; reported, not asserted.
        print("at-least-once: \(report)")
        #expect(report.predictions >= 10_000)
    }
}

/// One broker, one configuration and checkpoint directory, and the daemon runs of one test.
///
/// Inference records (label in the key) and training records are produced in chunks while the
/// daemon runs, round-robin over three partitions each; the predictions topic has three
/// partitions too, so prediction partition = input partition.
private final class PredictionScenario {
    /// When a run's daemon gets SIGKILL.
    enum KillMoment: CustomStringConvertible {
        /// Once a random share (10-80 %) of a fresh chunk has predictions on the topic.
        case midStream
        /// As soon as a predictions partition holds more predictions than the group has
        /// committed input offsets: the window between delivery and commit, as long as no
        /// prediction is duplicated (then both count the same records).
        case deliveredNotCommitted
        /// The moment the inference partitions are assigned, a chunk waiting: during the
        /// resume scan or the first batch.
        case atAssignment

        var description: String {
            switch self {
            case .midStream: "mid-stream"
            case .deliveredNotCommitted: "delivered, not committed"
            case .atAssignment: "at assignment"
            }
        }
    }

    /// What one kill left behind.
    struct Kill: CustomStringConvertible {
        var moment: KillMoment
        /// Per predictions partition: its end offset and the group's committed offset of the
        /// input partition it serves, read after the process was gone.
        var predictionEnds: [Int64]
        var committed: [Int64]
        /// True when the dead daemon left predictions whose input offsets were not committed
        /// (exactly-once, where both offsets count the same records).
        var leftUncommittedPredictions: Bool

        var description: String {
            "\(moment): predictions end \(predictionEnds), committed \(committed)"
                + (leftUncommittedPredictions ? " (delivered, not committed)" : "")
        }
    }

    /// What the predictions topic held in the end.
    struct Report: CustomStringConvertible {
        var predictions = 0
        var duplicates = 0
        var checkpointsUsed = 0
        var finalRunCheckpoints: [Int64] = []
        var scoresChecked = 0
        var commandScoresChecked = 0
        /// The largest relative difference between a score and its recomputation, as
        /// probabilities and as logits.
        var largestScoreDifference: Double = 0
        var largestLogitDifference: Double = 0

        var description: String {
            "\(predictions) predictions, \(duplicates) duplicates, \(checkpointsUsed) checkpoints named "
                + "(\(finalRunCheckpoints) in the last run), \(scoresChecked) scores recomputed and "
                + "\(commandScoresChecked) by streamlearn predict (largest relative difference "
                + "\(largestScoreDifference), of logits \(largestLogitDifference))"
        }
    }

    static let inputTopic = "pd-input"
    static let trainingTopic = "pd-train"
    static let predictionsTopic = "pd-predictions"
    static let inferenceGroup = "pd-inference"
    static let partitions: Int32 = 3
    static let featureCount = 18

    let delivery: String
    let inputCount: Int
    let chunkSize: Int
    let broker: DaemonTestBroker
    let directory: TestDirectory
    let configPath: String
    private let producer: KafkaProducer
    private let admin: KafkaAdmin
    private var inputsProduced = 0
    private var trainingProduced = 0
    private var generator = SystemRandomNumberGenerator()
    /// The predictions topic's end offsets when the last run began.
    private var finalRunStarts: [Int64] = []

    init(delivery: String, inputCount: Int, chunkSize: Int) throws {
        self.delivery = delivery
        self.inputCount = inputCount
        self.chunkSize = chunkSize
        broker = try DaemonTestBroker(topics: [
            Self.inputTopic: Self.partitions, Self.trainingTopic: Self.partitions,
            Self.predictionsTopic: Self.partitions,
        ])
        directory = try TestDirectory("predictions")
        producer = try broker.producer()
        admin = try KafkaAdmin(configuration: broker.configuration)
        // A small network: the daemon's scoring path (BLAS) at a cost a debug build can pay.
        configPath = try directory.write(
            "config.json",
            """
            {
              "kafka": {"bootstrap.servers": "\(broker.bootstrapServers)", "session.timeout.ms": 4000,
                        "heartbeat.interval.ms": 400},
              "training": {"topics": ["\(Self.trainingTopic)"], "group_id": "pd-training",
                           "poll_max_records": 1024, "poll_timeout_ms": 200, "batch_size": 32},
              "model": {"type": "mlp", "hidden": [32, 16], "dropout": [0.2, 0.2], "learning_rate": 0.01,
                        "seed": 7},
              "checkpoint": {"directory": "\(directory.path)/checkpoints", "interval_seconds": 1, "keep": 100},
              "metrics": {"interval_seconds": 1},
              "inference": {"topics": ["\(Self.inputTopic)"], "group_id": "\(Self.inferenceGroup)",
                            "predictions_topic": "\(Self.predictionsTopic)", "delivery": "\(delivery)"},
              "instance": "predictions-test",
              "log_level": "info"
            }
            """
        )
    }

    // MARK: - Runs

    /// Starts the daemon, trains it on a chunk of training records until a checkpoint holds
    /// them, streams a chunk of inference records to it and kills it with SIGKILL at `moment`;
    /// returns what the kill left on the broker.
    func runAndKill(at moment: KillMoment) throws -> Kill {
        let endsBefore = try predictionEnds()
        let committedBefore = try committedOffsets()
        if case .atAssignment = moment {
            try produceTraining()
            try produceInputs(chunkSize)
        }
        let daemon = try startDaemon()
        switch moment {
        case .atAssignment:
            break
        case .midStream:
            try trainAndAwaitCheckpoint(daemon)
            let before = try predictionEnds().reduce(0, +)
            try produceInputs(chunkSize)
            let target = before + Int64(Double(chunkSize) * Double.random(in: 0.1...0.8, using: &generator))
            try waitFor(daemon, "\(target) predictions") { try predictionEnds().reduce(0, +) >= target }
        case .deliveredNotCommitted:
            try trainAndAwaitCheckpoint(daemon)
            try produceInputs(chunkSize)
            try waitForUncommittedPredictions(daemon)
        }
        daemon.send(SIGKILL)
        let output = daemon.wait(timeout: .seconds(10))
        #expect(output.signal == SIGKILL, "\(output.standardError.suffix(3000))")
        #expect(!output.hasSanitizerReport, "\(output.standardError)")

        let ends = try predictionEnds()
        let committed = try committedOffsets()
        let isChanged = ends != endsBefore || committed != committedBefore
        let isUncommitted = delivery == "exactly-once" && isChanged && zip(ends, committed).contains { $0 > $1 }
        return Kill(
            moment: moment,
            predictionEnds: ends,
            committed: committed,
            leftUncommittedPredictions: isUncommitted
        )
    }

    /// Runs the daemon until every input is predicted and committed, with two newer models
    /// (half of the remaining inference records each), stops it with SIGTERM and expects exit
    /// status 0.
    func finish() throws {
        let daemon = try startDaemon()
        finalRunStarts = try predictionEnds()
        let remaining = inputCount - inputsProduced
        for part in [remaining / 2, remaining - remaining / 2] {
            try trainAndAwaitCheckpoint(daemon)
            try produceInputs(part)
            let produced = producedPerPartition(inputsProduced)
            try waitFor(daemon, "inference offsets committed up to \(produced)", timeout: .seconds(60)) {
                try committedOffsets() == produced
            }
        }
        let ends = try (0..<Self.partitions).map { try watermarks(Self.inputTopic, $0).high }
        #expect(ends.reduce(0, +) == Int64(inputCount))
        #expect(try committedOffsets() == ends)
        daemon.send(SIGTERM)
        let output = daemon.wait(timeout: .seconds(30))
        #expect(output.status == 0, "\(output.standardError.suffix(3000))")
        #expect(!output.hasSanitizerReport, "\(output.standardError)")
    }

    private func startDaemon() throws -> TestProcess {
        let daemon = try TestBinary.start(["run", "--config", configPath])
        // After a kill the group waits for the dead member's session to expire first.
        try daemon.waitForLine(onStandardError: true, timeout: .seconds(60)) {
            $0.contains("Inference partitions assigned")
        }
        return daemon
    }

    /// Produces a chunk of training records and waits until a checkpoint holds all of them and
    /// the daemon has logged it written, which it does once inference scores with it, so that
    /// the inference records produced next are scored by a newer model.
    private func trainAndAwaitCheckpoint(_ daemon: TestProcess) throws {
        try produceTraining()
        let trained = String(trainingProduced)
        let checkpoint = DaemonTestFiles.waitForCheckpoint(in: directory.path, timeout: .seconds(30)) {
            $0.metadata["records_trained"] == trained
        }
        guard let checkpoint else {
            Issue.record("no checkpoint of \(trained) records within 30 s: \(daemon.standardError.suffix(2000))")
            return
        }
        _ = try daemon.waitForLine(onStandardError: true, timeout: .seconds(30)) {
            $0.contains("Wrote checkpoint \(checkpoint.sequence) ")
        }
    }

    /// Produces `count` inference records, at most up to `inputCount`, and waits for delivery.
    private func produceInputs(_ count: Int) throws {
        let count = min(count, inputCount - inputsProduced)
        guard count > 0 else { return }
        try DaemonTestBroker.produce(
            producer,
            topic: Self.inputTopic,
            partitions: Self.partitions,
            count: count,
            first: inputsProduced
        )
        inputsProduced += count
    }

    /// Produces a fifth of a chunk of training records and waits for delivery.
    private func produceTraining() throws {
        let count = chunkSize / 5
        try DaemonTestBroker.produce(
            producer,
            topic: Self.trainingTopic,
            partitions: Self.partitions,
            count: count,
            first: trainingProduced
        )
        trainingProduced += count
    }

    /// Watches the predictions topic's end offsets and the group's committed offsets until a
    /// predictions partition is ahead of its committed input offset; produces a small chunk
    /// more whenever the daemon has caught up, while the inference budget lasts.
    private func waitForUncommittedPredictions(_ daemon: TestProcess) throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            // Ends first: they only grow, so a committed offset read later and still behind
            // means the window between delivery and commit is open now.
            let ends = try predictionEnds()
            let committed = try committedOffsets()
            if zip(ends, committed).contains(where: { $0 > $1 }) { return }
            let produced = producedPerPartition(inputsProduced)
            if committed == produced {
                guard inputsProduced + chunkSize / 4 <= inputCount - chunkSize else { return }
                try produceInputs(chunkSize / 4)
            }
        }
        Issue.record("no prediction seen ahead of its commit within 30 s: \(daemon.standardError.suffix(2000))")
    }

    /// Waits, polling every 5 ms, until `condition` holds; records an issue quoting the
    /// daemon's log when `timeout` passes first.
    private func waitFor(
        _ daemon: TestProcess,
        _ what: String,
        timeout: Duration = .seconds(30),
        _ condition: () throws -> Bool
    ) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.005)
        }
        Issue.record("no \(what) within \(timeout): \(daemon.standardError.suffix(3000))")
    }

    /// Inference records per input partition once `count` have been produced round-robin.
    private func producedPerPartition(_ count: Int) -> [Int64] {
        (0..<Int(Self.partitions)).map { partition in
            Int64(count / Int(Self.partitions) + (partition < count % Int(Self.partitions) ? 1 : 0))
        }
    }

    /// The high watermark of each predictions partition.
    private func predictionEnds() throws -> [Int64] {
        let described = try admin.describeTopics([Self.predictionsTopic], timeout: .seconds(10))
        let partitions = try #require(described.first?.partitions).sorted { $0.partition < $1.partition }
        return try partitions.map { try #require($0.watermarks).high }
    }

    /// The low and high watermarks of `topic`[`partition`].
    private func watermarks(_ topic: String, _ partition: Int32) throws -> KafkaWatermarks {
        let described = try admin.describeTopics([topic], timeout: .seconds(10))
        return try #require(described.first?.partitions.first { $0.partition == partition }?.watermarks)
    }

    /// The inference group's committed offset of each input partition (0 before a commit).
    private func committedOffsets() throws -> [Int64] {
        let committed = try admin.listGroupOffsets(
            group: Self.inferenceGroup,
            topics: [Self.inputTopic],
            timeout: .seconds(10)
        )
        return (0..<Self.partitions).map {
            committed[KafkaTopicPartition(topic: Self.inputTopic, partition: $0)] ?? 0
        }
    }

    // MARK: - Verification

    /// Reads every input and every prediction and checks each prediction against its input
    /// and the checkpoint it names; returns the counts. Every input must have a prediction;
    /// with exactly-once, exactly one, in input order.
    func verify() throws -> Report {
        var inputs: [InputPosition: StoredRecord] = [:]
        for partition in 0..<Self.partitions {
            let watermarks = try watermarks(Self.inputTopic, partition)
            #expect(watermarks.low == 0, "the broker dropped inference records of partition \(partition)")
            for record in try readAll(Self.inputTopic, partition) {
                inputs[InputPosition(topic: Self.inputTopic, partition: partition, offset: record.offset)] = record
            }
        }
        #expect(inputs.count == inputCount)

        var report = Report()
        var counts: [InputPosition: Int] = [:]
        var byCheckpoint: [Int64: [(prediction: PredictionValue, input: StoredRecord)]] = [:]
        var problems: [String] = []
        for partition in 0..<Self.partitions {
            let watermarks = try watermarks(Self.predictionsTopic, partition)
            #expect(watermarks.low == 0, "the broker dropped predictions of partition \(partition)")
            var lastOffsets: [InputPosition: Int64] = [:]
            for record in try readAll(Self.predictionsTopic, partition) {
                report.predictions += 1
                guard let source = record.source, let value = record.valueText,
                    let prediction = PredictionValue(value)
                else {
                    problems.append(
                        "predictions[\(partition)]@\(record.offset): unreadable \(record.valueText ?? "nil")"
                    )
                    continue
                }
                counts[source, default: 0] += 1
                let sourcePartition = InputPosition(topic: source.topic, partition: source.partition, offset: 0)
                if delivery == "exactly-once", let last = lastOffsets[sourcePartition], last >= source.offset {
                    problems.append("predictions[\(partition)]@\(record.offset): \(source) after offset \(last)")
                }
                lastOffsets[sourcePartition] = source.offset
                guard let input = inputs[source] else {
                    problems.append("predictions[\(partition)]@\(record.offset): no input at \(source)")
                    continue
                }
                let keyText = input.key.map { String(decoding: $0, as: UTF8.self) }
                if prediction.position != source || source.partition % Self.partitions != partition
                    || record.key != input.key || prediction.label.map(String.init) != keyText
                {
                    problems.append(
                        "predictions[\(partition)]@\(record.offset): \(value) for \(source) key \(keyText ?? "nil")"
                    )
                }
                byCheckpoint[prediction.checkpointSequence, default: []].append((prediction, input))
                if record.offset >= finalRunStarts[Int(partition)],
                    !report.finalRunCheckpoints.contains(prediction.checkpointSequence)
                {
                    report.finalRunCheckpoints.append(prediction.checkpointSequence)
                }
            }
        }
        report.duplicates = counts.values.reduce(0) { $0 + max(0, $1 - 1) }
        let missing = inputs.keys.filter { counts[$0] == nil }.sorted()
        #expect(missing.isEmpty, "\(missing.count) inputs without a prediction, first \(missing.prefix(10))")
        if delivery == "exactly-once" {
            let twice = counts.filter { $0.value > 1 }.keys.sorted()
            #expect(twice.isEmpty, "\(twice.count) inputs predicted more than once, first \(twice.prefix(10))")
        }

        report.checkpointsUsed = byCheckpoint.count
        // Each run trained before its inference records came, and the last run twice: the
        // daemon gave inference each newer model while it ran.
        #expect(byCheckpoint.count >= 3, "predictions name checkpoints \(byCheckpoint.keys.sorted())")
        #expect(report.finalRunCheckpoints.count >= 2, "last run: checkpoints \(report.finalRunCheckpoints)")
        for (sequence, group) in byCheckpoint.sorted(by: { $0.key < $1.key }) {
            try checkScores(of: group, checkpoint: sequence, report: &report, problems: &problems)
        }
        if let (sequence, group) = byCheckpoint.max(by: { $0.value.count < $1.value.count }) {
            try checkCommandScores(of: group.prefix(300), checkpoint: sequence, report: &report, problems: &problems)
        }
        #expect(problems.isEmpty, "\(problems.count) problems, first: \(problems.prefix(10).joined(separator: "; "))")
        return report
    }

    /// Recomputes the scores of `group` with the model of checkpoint `sequence`.
    private func checkScores(
        of group: [(prediction: PredictionValue, input: StoredRecord)],
        checkpoint sequence: Int64,
        report: inout Report,
        problems: inout [String]
    ) throws {
        let path = directory.path + "/checkpoints/" + CheckpointStore.fileName(sequence: sequence)
        let checkpoint: Checkpoint
        do {
            checkpoint = try CheckpointStore.read(path: path)
        } catch {
            problems.append("checkpoint \(sequence), named by \(group.count) predictions: \(error)")
            return
        }
        let model = try Model(state: checkpoint.model)
        let decoder = RecordDecoder(featureCount: Self.featureCount)
        var features = [Float](repeating: 0, count: group.count * Self.featureCount)
        try features.withUnsafeMutableBufferPointer { buffer in
            for (row, item) in group.enumerated() {
                let start = row * Self.featureCount
                let slice = UnsafeMutableBufferPointer(rebasing: buffer[start..<(start + Self.featureCount)])
                _ = try item.input.key.withUnsafeBytesIfPresent { key in
                    try item.input.value.withUnsafeBytesIfPresent { value in
                        try decoder.decode(key: key, value: value, into: slice)
                    }
                }
            }
        }
        var scores = [Float](repeating: 0, count: group.count)
        features.withUnsafeBufferPointer { input in
            scores.withUnsafeMutableBufferPointer { model.predict(features: input, into: $0) }
        }
        for (row, item) in group.enumerated() {
            report.scoresChecked += 1
            if item.prediction.modelStep != checkpoint.model.optimizer.step {
                problems.append(
                    "\(item.prediction.position): model_step \(item.prediction.modelStep), checkpoint \(sequence) "
                        + "has step \(checkpoint.model.optimizer.step)"
                )
            }
            guard let score = item.prediction.score else {
                problems.append("\(item.prediction.position): score is null")
                continue
            }
            if !Self.isClose(score, scores[row], report: &report) {
                problems.append(
                    "\(item.prediction.position): score \(score), checkpoint \(sequence) gives \(scores[row])"
                )
            }
        }
    }

    /// Scores the inputs of `group` with `streamlearn predict --model` the checkpoint, as an
    /// operator would, and compares.
    private func checkCommandScores(
        of group: ArraySlice<(prediction: PredictionValue, input: StoredRecord)>,
        checkpoint sequence: Int64,
        report: inout Report,
        problems: inout [String]
    ) throws {
        let rows = group.map { String(decoding: $0.input.value ?? [], as: UTF8.self) }
        let input = try directory.write("predict-input.csv", rows.joined(separator: "\n") + "\n")
        let path = directory.path + "/checkpoints/" + CheckpointStore.fileName(sequence: sequence)
        let output = try TestBinary.run(["predict", "--model", path, "--input", input])
        #expect(output.status == 0, "\(output.standardError)")
        let scores = output.standardOutput.split(separator: "\n").map { Float($0) }
        #expect(scores.count == group.count)
        for (item, score) in zip(group, scores) {
            report.commandScoresChecked += 1
            if let published = item.prediction.score, let score, Self.isClose(published, score, report: &report) {
                continue
            }
            let printed = score.map { "\($0)" } ?? "nothing"
            problems.append(
                "\(item.prediction.position): streamlearn predict with checkpoint \(sequence) prints \(printed)"
            )
        }
    }

    /// True when two probabilities agree to 1e-6, relative, as probabilities or as logits: a
    /// tiny probability carries the rounding of its logit multiplied by the logit's magnitude
    /// (OpenBLAS rounds differently for other batch shapes), a probability near 1 has too few
    /// bits left for its logit. Records the differences seen in `report`.
    static func isClose(_ published: Float, _ recomputed: Float, report: inout Report) -> Bool {
        let (first, second) = (Double(published), Double(recomputed))
        let probabilityDifference = abs(first - second) / max(abs(first), abs(second), Double.leastNormalMagnitude)
        report.largestScoreDifference = max(report.largestScoreDifference, probabilityDifference)
        guard probabilityDifference > 1e-6 else { return true }
        guard first > 0, first < 1, second > 0, second < 1 else { return false }
        let (firstLogit, secondLogit) = (log(first) - log1p(-first), log(second) - log1p(-second))
        let logitDifference = abs(firstLogit - secondLogit) / max(1, abs(firstLogit), abs(secondLogit))
        report.largestLogitDifference = max(report.largestLogitDifference, logitDifference)
        return logitDifference <= 1e-6
    }

    /// Every record of `topic`[`partition`] up to its high watermark, headers included.
    private func readAll(_ topic: String, _ partition: Int32) throws -> [StoredRecord] {
        let end = try watermarks(topic, partition).high
        let records = try StoredRecord.readAll(
            configuration: broker.configuration,
            topic: topic,
            partition: partition
        ).records.filter { $0.offset < end }
        #expect(records.count == Int(end), "read \(records.count) of \(end) records of \(topic)[\(partition)]")
        return records
    }
}

/// The fields of one prediction message's JSON value; the score is kept as the Float its
/// text reads back to.
private struct PredictionValue {
    var position: InputPosition
    var score: Float?
    var label: Int?
    var modelStep: Int64
    var checkpointSequence: Int64

    init?(_ text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let topic = object["topic"] as? String,
            let partition = (object["partition"] as? NSNumber)?.int32Value,
            let offset = (object["offset"] as? NSNumber)?.int64Value,
            let modelStep = (object["model_step"] as? NSNumber)?.int64Value,
            let sequence = (object["checkpoint_sequence"] as? NSNumber)?.int64Value,
            let scoreStart = text.range(of: "\"score\":")?.upperBound
        else { return nil }
        position = InputPosition(topic: topic, partition: partition, offset: offset)
        // Read from the text, not through JSONSerialization's Double, so no double rounding.
        score = Float(text[scoreStart...].prefix { $0 != "," && $0 != "}" })
        label = (object["label"] as? NSNumber)?.intValue
        self.modelStep = modelStep
        checkpointSequence = sequence
    }
}

extension Optional where Wrapped == [UInt8] {
    /// The bytes as a raw buffer for `body`, or nil when there are none.
    fileprivate func withUnsafeBytesIfPresent<Result>(
        _ body: (UnsafeRawBufferPointer?) throws -> Result
    ) rethrows -> Result {
        guard let bytes = self else { return try body(nil) }
        return try bytes.withUnsafeBytes { try body($0) }
    }
}
