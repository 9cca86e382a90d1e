import Foundation
import StreamLearnCore

/// One metrics message of the daemon: the JSON written to the metrics topic every interval, and
/// the one-line summary used for the log and the systemd status.
///
/// The JSON nests the dotted names of DESIGN.md: `model.step` is `{"model": {"step": N}}`. Every
/// key is always present; a figure that is not known yet (a loss before the first record, the
/// lag of a partition without a watermark) is `null`. The document, keys in this order:
///
///     {"ts": "2026-12-03T19:30:00.123Z",       RFC 3339, UTC
///      "instance": "host-a",                   metrics key as well
///      "uptime_s": 12.5,
///      "model": {"step": 1520, "records": 48640},          optimizer steps; rows x epochs
///      "training": {"records": 48640,          trained since this process started
///                   "records_per_s": 4864.0,   over the interval
///                   "loss": 0.45, "accuracy": 0.79,         prequential, over the interval
///                   "auc": 0.86,               prequential, over the last metrics.window records
///                   "loss_total": 0.47, "accuracy_total": 0.78,     prequential, since start
///                   "duplicates_skipped": 0},
///      "inference": {"records": 0, "predictions": 0,         counts since start, 0 without
///                    "bad_records": 0, "already_predicted": 0,  an inference section;
///                    "accuracy": null, "loss": null, "auc": null},  labelled records, interval
///      "lag": {"susy-train": {"0": 12, "1": 0}},  log-end offset minus next offset
///      "bad_records": 0,                        training records refused since start
///      "dead_lettered": 0,                      copies the dead-letter topic confirmed, since start
///      "checkpoint": {"sequence": 7, "age_s": 3.2, "failures": 0},   age since the newest
///                                               durable checkpoint; null before the first
///      "kafka": {"errors": 0},                  consumer errors reported by librdkafka
///      "process": {"rss_bytes": 24117248}}      resident memory (VmRSS), null if unknown
struct MetricsReport: Sendable {
    var timestamp: Date
    var instance: String
    var uptime: Double
    var modelStep: Int64
    var modelRecords: Int64
    var recordsTrained: Int64
    var recordsPerSecond: Double
    var loss: Double?
    var accuracy: Double?
    var auc: Double?
    var totalLoss: Double?
    var totalAccuracy: Double?
    var duplicatesSkipped: Int64
    /// Counts since start, accuracy, loss and AUC over the interval; nil without inference.
    var inference: InferenceMetricsSnapshot?
    /// Per topic, per partition: the lag, nil when unknown. Sorted by topic then partition.
    var lag: [(TopicPartition, Int64?)]
    var badRecords: Int64
    var deadLettered: Int64 = 0
    var checkpointSequence: Int64?
    var checkpointAge: Double?
    var checkpointFailures: Int64
    var kafkaErrors: Int64
    /// Resident set size in bytes, from /proc/self/status.
    var residentBytes: Int64?

    /// The JSON document, on one line.
    var json: String {
        var lagByTopic: [(String, [(Int32, Int64?)])] = []
        for (topicPartition, value) in lag {
            if lagByTopic.last?.0 != topicPartition.topic { lagByTopic.append((topicPartition.topic, [])) }
            lagByTopic[lagByTopic.count - 1].1.append((topicPartition.partition, value))
        }
        let lagJSON = lagByTopic.map { topic, partitions in
            Self.quoted(topic) + ":{"
                + partitions.map { "\"\($0.0)\":\(Self.number($0.1))" }.joined(separator: ",") + "}"
        }.joined(separator: ",")
        return "{\"ts\":\(Self.quoted(Self.timestampText(timestamp))),"
            + "\"instance\":\(Self.quoted(instance)),"
            + "\"uptime_s\":\(Self.number(uptime)),"
            + "\"model\":{\"step\":\(modelStep),\"records\":\(modelRecords)},"
            + "\"training\":{\"records\":\(recordsTrained),"
            + "\"records_per_s\":\(Self.number(recordsPerSecond)),"
            + "\"loss\":\(Self.number(loss)),\"accuracy\":\(Self.number(accuracy)),"
            + "\"auc\":\(Self.number(auc)),"
            + "\"loss_total\":\(Self.number(totalLoss)),\"accuracy_total\":\(Self.number(totalAccuracy)),"
            + "\"duplicates_skipped\":\(duplicatesSkipped)},"
            + "\"inference\":{\"records\":\(inference?.records ?? 0),"
            + "\"predictions\":\(inference?.predictions ?? 0),"
            + "\"bad_records\":\(inference?.badRecords ?? 0),"
            + "\"already_predicted\":\(inference?.alreadyPredicted ?? 0),"
            + "\"accuracy\":\(Self.number(inference?.accuracy)),\"loss\":\(Self.number(inference?.loss)),"
            + "\"auc\":\(Self.number(inference?.auc))},"
            + "\"lag\":{\(lagJSON)},"
            + "\"bad_records\":\(badRecords),\"dead_lettered\":\(deadLettered),"
            + "\"checkpoint\":{\"sequence\":\(Self.number(checkpointSequence)),"
            + "\"age_s\":\(Self.number(checkpointAge)),\"failures\":\(checkpointFailures)},"
            + "\"kafka\":{\"errors\":\(kafkaErrors)},"
            + "\"process\":{\"rss_bytes\":\(Self.number(residentBytes))}}"
    }

    /// The total lag over every partition with a known one.
    var totalLag: Int64? {
        let known = lag.compactMap(\.1)
        return known.isEmpty ? nil : known.reduce(0, +)
    }

    /// "trained 48640 records (4864/s), loss 0.450, accuracy 0.790, AUC 0.860, lag 12, bad 0,
    /// checkpoint 7 (3s ago)": for the log and STATUS=.
    var summary: String {
        var parts = ["trained \(recordsTrained) records (\(Int(recordsPerSecond.rounded()))/s)"]
        parts.append("loss " + Self.short(loss))
        parts.append("accuracy " + Self.short(accuracy))
        parts.append("AUC " + Self.short(auc))
        parts.append("lag " + (totalLag.map(String.init) ?? "unknown"))
        parts.append("bad \(badRecords)")
        if let inference {
            parts.append(
                "predicted \(inference.predictions) (accuracy \(Self.short(inference.accuracy)), "
                    + "bad \(inference.badRecords))"
            )
        }
        if let checkpointSequence {
            let age = checkpointAge.map { " (\(Int($0.rounded()))s ago)" } ?? ""
            parts.append("checkpoint \(checkpointSequence)\(age)")
        } else {
            parts.append("no checkpoint yet")
        }
        if let residentBytes {
            parts.append("RSS " + String(format: "%.1f MiB", Double(residentBytes) / 1_048_576))
        }
        return parts.joined(separator: ", ")
    }

    private static func short(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return String(format: "%.3f", value)
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func number(_ value: Int64?) -> String {
        value.map(String.init) ?? "null"
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// This process's resident set size (VmRSS of /proc/self/status) in bytes, or nil.
    static func residentBytes() -> Int64? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        let kilobytes = line.split(separator: " ").compactMap { Int64($0) }.first
        return kilobytes.map { $0 * 1024 }
    }

    /// "2026-12-03T19:30:00.123Z".
    static func timestampText(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday),
            Int(parts.tm_hour),
            Int(parts.tm_min),
            Int(parts.tm_sec),
            Int(milliseconds % 1000)
        )
    }
}
