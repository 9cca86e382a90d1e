import Foundation
import StreamLearnCore

/// The text `streamlearn demo` ends with: what was produced and trained, how well the model
/// did at the end beside the best possible on the same rows, the predictions and bad records,
/// the checkpoints written, and what the predictions and dead-letter topics hold.
struct DemoSummary {
    let elapsed: Duration
    /// The training stream and the test stream.
    let produced: SteadyRateProducer.Snapshot
    let testProduced: SteadyRateProducer.Snapshot
    let statistics: DaemonStatistics
    /// Records per second from the first record trained to the last.
    let trainingRate: Double?
    /// The last metrics message of a full interval (shown live), and the one the daemon
    /// published as it stopped (counts since start, complete).
    let lastMetrics: DemoMetricsMessage?
    let finalMetrics: DemoMetricsMessage?
    let outputTopics: DemoOutputTopics
    let checkpointDirectory: String
    /// The signal that ended the demo early, if one did.
    var interruption: Int32?

    init(
        elapsed: Duration,
        produced: SteadyRateProducer.Snapshot,
        testProduced: SteadyRateProducer.Snapshot,
        statistics: DaemonStatistics,
        trainingRate: Double?,
        lastMetrics: DemoMetricsMessage?,
        finalMetrics: DemoMetricsMessage?,
        outputTopics: DemoOutputTopics,
        checkpointDirectory: String
    ) {
        self.elapsed = elapsed
        self.produced = produced
        self.testProduced = testProduced
        self.statistics = statistics
        self.trainingRate = trainingRate
        self.lastMetrics = lastMetrics
        self.finalMetrics = finalMetrics
        self.outputTopics = outputTopics
        self.checkpointDirectory = checkpointDirectory
    }

    var text: String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let ending = interruption.map { " (stopped early by \(ShutdownSignals.name(of: $0)))" } ?? ""
        var lines = ["", "Summary after \(DemoFormat.fixed(seconds, 1)) s\(ending):"]

        lines.append(item("produced", streamLine(produced, "rows", DemoSession.trainingTopic, seconds: seconds)))
        lines.append(
            item("test stream", streamLine(testProduced, "labelled rows", DemoSession.testTopic, seconds: seconds))
        )

        var trainedLine = "\(DemoFormat.grouped(Double(statistics.recordsTrained))) records"
        if let trainingRate { trainedLine += " (\(DemoFormat.grouped(trainingRate))/s while training)" }
        trainedLine += ", model step \(DemoFormat.grouped(Double(statistics.modelStep)))"
        lines.append(item("trained", trainedLine))
        // Bad records are read but not trained.
        let lag = max(Int64(produced.produced) - statistics.recordsTrained - statistics.badRecords, 0)
        lines.append(item("lag at stop", "\(DemoFormat.grouped(Double(lag))) records not yet trained"))

        // The last full interval that the live view showed: the daemon's own last interval is
        // cut short by the stop and may cover only a few records.
        let accuracy: Double?
        let auc: Double?
        let loss: Double?
        let trainedThen: Int64
        let interval: String
        if let lastMetrics, lastMetrics.accuracy != nil {
            (accuracy, auc, loss) = (lastMetrics.accuracy, lastMetrics.auc, lastMetrics.loss)
            trainedThen = Int64(lastMetrics.recordsTrained ?? Double(statistics.recordsTrained))
            interval = "last full metrics interval"
        } else {
            (accuracy, auc, loss) = (statistics.accuracy, statistics.auc, statistics.loss)
            trainedThen = statistics.recordsTrained
            interval = "last interval"
        }
        var modelLine =
            "accuracy \(DemoFormat.fixed(accuracy, 3)), AUC \(DemoFormat.fixed(auc, 3)), "
            + "loss \(DemoFormat.fixed(loss, 3)) (prequential, \(interval))"
        if let total = lastMetrics?.totalAccuracy {
            modelLine += "; accuracy \(DemoFormat.fixed(total, 3)) since start"
        }
        lines.append(item("model", modelLine))

        // Those records follow the drifted concept once the daemon has trained past the drift
        // row (the partitions are filled in turn, so they all reach it at about the same time).
        let concept: SyntheticSUSY.Concept =
            produced.driftRow.map { trainedThen > Int64($0) } == true ? .drifted : .original
        var best = concept == .drifted ? produced.bestDrifted : produced.bestOriginal
        if best.rows == 0 { best = produced.bestOriginal }
        let conceptName = concept == .drifted ? "the drifted rows" : "the rows before the drift"
        lines.append(
            item(
                "best possible",
                "accuracy \(DemoFormat.fixed(best.accuracy, 3)), AUC \(DemoFormat.fixed(best.auc, 3)), "
                    + "loss \(DemoFormat.fixed(best.logLoss, 3)) (the generator's exact posterior on \(conceptName))"
            )
        )

        lines.append(item("predictions", predictionsLine))
        lines.append(item("bad records", badRecordsLine))

        var checkpointLine = "\(statistics.checkpointsWritten) written"
        if let sequence = statistics.checkpointSequence { checkpointLine += ", newest sequence \(sequence)" }
        if statistics.checkpointFailures > 0 { checkpointLine += ", \(statistics.checkpointFailures) failed" }
        checkpointLine += ", in \(checkpointDirectory) (removed)"
        lines.append(item("checkpoints", checkpointLine))
        lines += outputTopicLines
        return lines.joined(separator: "\n")
    }

    /// "272,174 rows (13,439/s) into 'susy-train', 136 malformed, concept drift from row ...".
    private func streamLine(
        _ stream: SteadyRateProducer.Snapshot,
        _ noun: String,
        _ topic: String,
        seconds: Double
    ) -> String {
        var line = "\(DemoFormat.grouped(Double(stream.produced))) \(noun)"
        if seconds > 0 { line += " (\(DemoFormat.grouped(Double(stream.produced) / seconds))/s)" }
        line += " into '\(topic)', \(DemoFormat.grouped(Double(stream.malformedTotal))) malformed"
        line += stream.driftRow.map { ", concept drift from row \(DemoFormat.grouped(Double($0)))" } ?? ", no drift yet"
        if stream.wasHeldBack { line += "; paused at times while the daemon was far behind" }
        if stream.failed > 0 || stream.firstError != nil {
            line += "; \(stream.failed) failed: \(stream.firstError ?? "unknown reason")"
        }
        return line
    }

    /// Predictions made, and the inference figures on the labelled test rows over the last
    /// full interval, beside the best possible on those rows.
    private var predictionsLine: String {
        let predictions = finalMetrics?.predictions ?? lastMetrics?.predictions ?? 0
        var line =
            "\(DemoFormat.grouped(predictions)) made, exactly-once into '\(DemoSession.predictionsTopic)'"
        let figures = lastMetrics?.inferenceAccuracy != nil ? lastMetrics : finalMetrics
        guard let figures, let accuracy = figures.inferenceAccuracy else {
            return line + "; no labelled test row scored yet"
        }
        line +=
            "; accuracy \(DemoFormat.fixed(accuracy, 3)), AUC \(DemoFormat.fixed(figures.inferenceAUC, 3)), "
            + "loss \(DemoFormat.fixed(figures.inferenceLoss, 3)) (labelled test rows, last full metrics interval)"
        // The test rows scored then were drifted once inference had read past the drift row.
        let scored = Int64(figures.inferenceRecords ?? 0)
        let isDrifted = testProduced.driftRow.map { scored > Int64($0) } == true && testProduced.bestDrifted.rows > 0
        let best = isDrifted ? testProduced.bestDrifted : testProduced.bestOriginal
        line += "; best possible accuracy \(DemoFormat.fixed(best.accuracy, 3)) on those rows"
        // Inference keeps pace with the test stream while training may lag far behind its own:
        // then the model has yet to learn what the test rows already show.
        let trained = Int64(figures.recordsTrained ?? Double(statistics.recordsTrained))
        if isDrifted, let driftRow = produced.driftRow, trained <= Int64(driftRow) {
            line += " (drifted; the model has not reached the drift in its training rows yet)"
        }
        return line
    }

    /// The bad records the daemon refused, by stream, and the copies the dead-letter topic took.
    private var badRecordsLine: String {
        let metrics = finalMetrics ?? lastMetrics
        let training = metrics?.badRecords ?? Double(statistics.badRecords)
        let inference = metrics?.inferenceBadRecords ?? 0
        var line =
            "\(DemoFormat.grouped(training + inference)) refused (\(DemoFormat.grouped(training)) training, "
            + "\(DemoFormat.grouped(inference)) test) of \(DemoFormat.grouped(Double(produced.malformedTotal + testProduced.malformedTotal))) "
            + "malformed produced"
        let deadLettered = metrics?.deadLettered ?? 0
        line += ", \(DemoFormat.grouped(deadLettered)) dead-lettered into '\(DemoSession.deadLetterTopic)'"
        return line
    }

    /// What the output topics hold, and the newest message of each.
    private var outputTopicLines: [String] {
        var lines: [String] = []
        var counts: [String] = []
        for (topic, count) in [
            (DemoSession.predictionsTopic, outputTopics.predictions),
            (DemoSession.deadLetterTopic, outputTopics.deadLetters),
        ] {
            guard let count else { continue }
            var text = "'\(topic)' \(DemoFormat.grouped(Double(count.written))) messages"
            if count.dropped > 0 {
                text += " (the embedded broker dropped the oldest \(DemoFormat.grouped(Double(count.dropped))))"
            }
            counts.append(text)
        }
        if !counts.isEmpty {
            lines.append(item("topics hold", counts.joined(separator: ", ") + " (high watermarks)"))
        }
        if let prediction = outputTopics.examplePrediction {
            lines.append(item("a prediction", "key \(prediction.key), value \(prediction.value)"))
        }
        if let letter = outputTopics.exampleDeadLetter {
            let header = { (name: String) in letter.headers[name] ?? "?" }
            lines.append(
                item(
                    "a dead letter",
                    "key \(letter.key), value '\(Self.shortened(letter.value))'; "
                        + "headers: streamlearn.reason=\(header("streamlearn.reason")), "
                        + "streamlearn.reason.detail=\(header("streamlearn.reason.detail")), from "
                        + "'\(header("streamlearn.source.topic"))'[\(header("streamlearn.source.partition"))]"
                        + "@\(header("streamlearn.source.offset"))"
                )
            )
        }
        if let problem = outputTopics.problem { lines.append(item("topics", problem + ", ignoring")) }
        return lines
    }

    /// `text` cut to about 40 characters, with "..." when cut.
    private static func shortened(_ text: String) -> String {
        text.count > 40 ? text.prefix(40) + "..." : text
    }

    private func item(_ name: String, _ value: String) -> String {
        "  " + name + String(repeating: " ", count: max(14 - name.count, 1)) + value
    }
}
