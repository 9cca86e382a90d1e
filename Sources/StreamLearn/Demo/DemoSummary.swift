import Foundation
import StreamLearnCore

/// The text `streamlearn demo` ends with: what was produced and trained, how well the model
/// did at the end beside the best possible on the same rows, and the checkpoints written.
struct DemoSummary {
    let elapsed: Duration
    let produced: SteadyRateProducer.Snapshot
    let statistics: DaemonStatistics
    /// Records per second from the first record trained to the last.
    let trainingRate: Double?
    let lastMetrics: DemoMetricsMessage?
    let checkpointDirectory: String
    /// The signal that ended the demo early, if one did.
    var interruption: Int32?

    init(
        elapsed: Duration,
        produced: SteadyRateProducer.Snapshot,
        statistics: DaemonStatistics,
        trainingRate: Double?,
        lastMetrics: DemoMetricsMessage?,
        checkpointDirectory: String
    ) {
        self.elapsed = elapsed
        self.produced = produced
        self.statistics = statistics
        self.trainingRate = trainingRate
        self.lastMetrics = lastMetrics
        self.checkpointDirectory = checkpointDirectory
    }

    var text: String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let ending = interruption.map { " (stopped early by \(ShutdownSignals.name(of: $0)))" } ?? ""
        var lines = ["", "Summary after \(DemoFormat.fixed(seconds, 1)) s\(ending):"]

        var producedLine = "\(DemoFormat.grouped(Double(produced.produced))) rows"
        if seconds > 0 { producedLine += " (\(DemoFormat.grouped(Double(produced.produced) / seconds))/s)" }
        producedLine +=
            produced.driftRow.map { ", concept drift from row \(DemoFormat.grouped(Double($0)))" } ?? ", no drift yet"
        if produced.wasHeldBack {
            producedLine +=
                "; paused at times while the daemon was \(DemoFormat.grouped(Double(DemoSession.backlogLimit))) rows behind"
        }
        if produced.failed > 0 || produced.firstError != nil {
            producedLine += "; \(produced.failed) failed: \(produced.firstError ?? "unknown reason")"
        }
        lines.append(item("produced", producedLine))

        var trainedLine = "\(DemoFormat.grouped(Double(statistics.recordsTrained))) records"
        if let trainingRate { trainedLine += " (\(DemoFormat.grouped(trainingRate))/s while training)" }
        trainedLine += ", model step \(DemoFormat.grouped(Double(statistics.modelStep)))"
        trainedLine += ", \(statistics.badRecords) bad records"
        lines.append(item("trained", trainedLine))
        let lag = max(Int64(produced.produced) - statistics.recordsTrained, 0)
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

        var checkpointLine = "\(statistics.checkpointsWritten) written"
        if let sequence = statistics.checkpointSequence { checkpointLine += ", newest sequence \(sequence)" }
        if statistics.checkpointFailures > 0 { checkpointLine += ", \(statistics.checkpointFailures) failed" }
        checkpointLine += ", in \(checkpointDirectory) (removed)"
        lines.append(item("checkpoints", checkpointLine))
        return lines.joined(separator: "\n")
    }

    private func item(_ name: String, _ value: String) -> String {
        "  " + name + String(repeating: " ", count: max(14 - name.count, 1)) + value
    }
}
