import Foundation

/// One metrics message of the daemon as the demo's live view reads it from the metrics topic
/// (the layout is the daemon's `MetricsReport`: DESIGN.md's dotted names as nested objects).
///
/// Parsed with JSONSerialization: one message a second, no hot path. Missing fields and
/// `null`s read as nil, so the view copes with a daemon that knows a figure only later.
struct DemoMetricsMessage {
    private let object: [String: Any]

    /// Parses a message value; nil when it is not a JSON object.
    init?(json bytes: UnsafeRawBufferPointer) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            return nil
        }
        self.object = object
    }

    var uptimeSeconds: Double? { number("uptime_s") }
    var modelStep: Double? { number("model.step") }
    var recordsTrained: Double? { number("training.records") }
    var recordsPerSecond: Double? { number("training.records_per_s") }
    /// Prequential figures over the last interval (the AUC over the daemon's sliding window).
    var loss: Double? { number("training.loss") }
    var accuracy: Double? { number("training.accuracy") }
    var auc: Double? { number("training.auc") }
    /// Prequential figures since the daemon started.
    var totalAccuracy: Double? { number("training.accuracy_total") }
    /// Training records refused since start.
    var badRecords: Double? { number("bad_records") }
    /// Inference: records taken and predictions made since start, records refused since start.
    var inferenceRecords: Double? { number("inference.records") }
    var predictions: Double? { number("inference.predictions") }
    var inferenceBadRecords: Double? { number("inference.bad_records") }
    /// Inference figures over the interval, on the labelled records scored in it.
    var inferenceAccuracy: Double? { number("inference.accuracy") }
    var inferenceLoss: Double? { number("inference.loss") }
    var inferenceAUC: Double? { number("inference.auc") }
    /// Copies of bad records (training and inference) the dead-letter topic confirmed.
    var deadLettered: Double? { number("dead_lettered") }
    /// Bad records of both loops, once either count is known.
    var allBadRecords: Double? {
        guard badRecords != nil || inferenceBadRecords != nil else { return nil }
        return (badRecords ?? 0) + (inferenceBadRecords ?? 0)
    }
    var checkpointSequence: Double? { number("checkpoint.sequence") }

    /// The lag summed over every partition whose lag is known, or nil when none is.
    var lag: Double? {
        guard let topics = value("lag") as? [String: Any] else { return nil }
        var total: Double?
        for case let partitions as [String: Any] in topics.values {
            for case let lag as NSNumber in partitions.values {
                total = (total ?? 0) + lag.doubleValue
            }
        }
        return total
    }

    /// The number at a dotted path such as "training.records".
    func number(_ path: String) -> Double? {
        (value(path) as? NSNumber)?.doubleValue
    }

    private func value(_ path: String) -> Any? {
        var current: Any? = object
        for component in path.split(separator: ".") {
            current = (current as? [String: Any])?[String(component)]
        }
        return current
    }
}
