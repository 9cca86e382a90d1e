import Foundation
import StreamLearnCore
import Testing

@testable import StreamLearn

/// The daemon's parts that need no broker: the metrics document, the watchdog's decision, the
/// log throttle and the checkpoint metadata keys.
@Suite("Daemon parts")
struct DaemonUnitTests {
    private func report(lag: [(TopicPartition, Int64?)] = []) -> MetricsReport {
        MetricsReport(
            timestamp: Date(timeIntervalSince1970: 1_796_326_200.125),
            instance: "host \"a\"",
            uptime: 12.5,
            modelStep: 1520,
            modelRecords: 48640,
            recordsTrained: 48640,
            recordsPerSecond: 4864,
            loss: 0.45,
            accuracy: nil,
            auc: .nan,
            totalLoss: 0.47,
            totalAccuracy: 0.78,
            duplicatesSkipped: 0,
            lag: lag,
            badRecords: 3,
            checkpointSequence: 7,
            checkpointAge: 3.25,
            checkpointFailures: 0,
            kafkaErrors: 1,
            residentBytes: nil
        )
    }

    @Test("the metrics JSON nests DESIGN.md's dotted names and writes unknown figures as null")
    func metricsDocument() throws {
        let lag: [(TopicPartition, Int64?)] = [
            (TopicPartition(topic: "susy-train", partition: 0), 12),
            (TopicPartition(topic: "susy-train", partition: 1), nil),
            (TopicPartition(topic: "other", partition: 3), 0),
        ]
        let text = report(lag: lag).json
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(document["ts"] as? String == "2026-12-03T19:30:00.125Z")
        #expect(document["instance"] as? String == "host \"a\"")
        #expect((document["uptime_s"] as? NSNumber)?.doubleValue == 12.5)
        let model = try #require(document["model"] as? [String: Any])
        #expect((model["step"] as? NSNumber)?.intValue == 1520)
        let training = try #require(document["training"] as? [String: Any])
        #expect((training["records"] as? NSNumber)?.intValue == 48640)
        #expect((training["records_per_s"] as? NSNumber)?.doubleValue == 4864)
        #expect((training["loss"] as? NSNumber)?.doubleValue == 0.45)
        #expect(training["accuracy"] is NSNull)
        #expect(training["auc"] is NSNull)
        let inference = try #require(document["inference"] as? [String: Any])
        #expect((inference["records"] as? NSNumber)?.intValue == 0)
        let lagDocument = try #require(document["lag"] as? [String: [String: Any]])
        #expect((lagDocument["susy-train"]?["0"] as? NSNumber)?.intValue == 12)
        #expect(lagDocument["susy-train"]?["1"] is NSNull)
        #expect((lagDocument["other"]?["3"] as? NSNumber)?.intValue == 0)
        #expect((document["bad_records"] as? NSNumber)?.intValue == 3)
        #expect((document["dead_lettered"] as? NSNumber)?.intValue == 0)
        let checkpoint = try #require(document["checkpoint"] as? [String: Any])
        #expect((checkpoint["sequence"] as? NSNumber)?.intValue == 7)
        #expect((checkpoint["age_s"] as? NSNumber)?.doubleValue == 3.25)
    }

    @Test("the summary line reads as one status")
    func summaryLine() {
        let lag: [(TopicPartition, Int64?)] = [(TopicPartition(topic: "t", partition: 0), 12)]
        #expect(
            report(lag: lag).summary
                == "trained 48640 records (4864/s), loss 0.450, accuracy n/a, AUC n/a, lag 12, bad 3, "
                + "checkpoint 7 (3s ago)"
        )
    }

    @Test("the watchdog pings after progress or during a fresh poll, and stops when the loop is stuck")
    func watchdogDecision() {
        let monitor = WatchdogMonitor(allowedPollTime: .seconds(3600))
        #expect(!monitor.shouldPing())
        monitor.pollWillBegin()
        #expect(monitor.shouldPing())
        monitor.pollDidEnd()
        #expect(monitor.shouldPing())
        // No poll ended since the last tick and none under way: the loop is stuck in training.
        #expect(!monitor.shouldPing())

        let impatient = WatchdogMonitor(allowedPollTime: .zero)
        impatient.pollWillBegin()
        // A poll that has taken longer than allowed counts as stuck.
        #expect(!impatient.shouldPing())
        impatient.beginShutdown()
        #expect(impatient.shouldPing())
    }

    @Test("the log throttle lets a burst through per period and counts the rest")
    func throttle() {
        var throttle = LogThrottle(burst: 2, period: .seconds(10))
        let start = ContinuousClock.now
        #expect(throttle.admit(now: start) == 0)
        #expect(throttle.admit(now: start + .seconds(1)) == 0)
        #expect(throttle.admit(now: start + .seconds(2)) == nil)
        #expect(throttle.admit(now: start + .seconds(3)) == nil)
        #expect(throttle.admit(now: start + .seconds(11)) == 2)
        #expect(throttle.admit(now: start + .seconds(12)) == 0)
    }

    @Test("per-partition counts round-trip through checkpoint metadata keys")
    func metadataKeys() {
        let partition = TopicPartition(topic: "susy.train-v2", partition: 11)
        let trained = PartitionProgress.trainedKey(partition)
        #expect(trained == "trained/susy.train-v2/11")
        #expect(PartitionProgress.parseKey(trained)?.1 == partition)
        #expect(PartitionProgress.parseKey(PartitionProgress.badKey(partition))?.kind == "bad")
        #expect(PartitionProgress.parseKey("trained/x") == nil)
        #expect(PartitionProgress.parseKey("config_hash") == nil)
        #expect(PartitionProgress.parseKey("trained/x/-1") == nil)
    }
}
