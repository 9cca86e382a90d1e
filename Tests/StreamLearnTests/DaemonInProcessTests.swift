import Foundation
import Kafka
import Locking
import StreamLearnCore
import Testing

@testable import StreamLearn

/// The daemon through its in-process API (`Daemon`, `DaemonOptions`, `DaemonStatistics`),
/// against librdkafka's mock cluster in this process: what a broker outage does, and the
/// in-process contract that `streamlearn demo` and `bench pipeline` rely on. Under
/// `swift test --sanitize=thread` these also check the daemon's threads for races.
@Suite("Daemon in process")
struct DaemonInProcessTests {
    /// A daemon running `run()` on a thread of its own.
    final class Running: @unchecked Sendable {
        let daemon: Daemon
        private let result = Locked<Result<ExitCode, any Error>?>(nil)
        private let finished = DispatchSemaphore(value: 0)

        init(_ daemon: Daemon) {
            self.daemon = daemon
            Thread.detachNewThread { [self] in
                let outcome = Result { try daemon.run() }
                result.withLock { $0 = outcome }
                finished.signal()
            }
        }

        /// Waits until `condition` holds for the daemon's statistics; false at the deadline.
        func waitFor(timeout: Duration, _ condition: (DaemonStatistics) -> Bool) -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if condition(daemon.statistics) { return true }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return false
        }

        /// Stops the daemon and returns what `run()` returned.
        func stop(timeout: Duration = .seconds(30)) throws -> ExitCode? {
            daemon.requestStop()
            guard finished.wait(timeout: .now() + .seconds(Int(timeout.components.seconds))) == .success else {
                return nil
            }
            return try result.withLock { $0 }?.get()
        }
    }

    /// Watchdog ticks, counted from the watchdog's queue.
    final class PingCounter: Sendable {
        private let state = Locked<(sent: Int, withheld: Int)>((0, 0))

        var counts: (sent: Int, withheld: Int) { state.withLock { $0 } }

        func count(_ isPinging: Bool) {
            state.withLock { if isPinging { $0.sent += 1 } else { $0.withheld += 1 } }
        }
    }

    /// Starts a daemon with the configuration at `path` and a 1 s watchdog whose ticks are
    /// counted: sent while the loop progresses or waits on Kafka, withheld when it is stuck.
    static func startWatched(
        configurationAt path: String
    ) throws -> (Running, PingCounter) {
        let configuration = try DaemonConfiguration.load(contentsOf: path)
        let pings = PingCounter()
        let options = DaemonOptions(
            handlesSignals: false,
            notifiesSystemd: false,
            watchdogInterval: .seconds(1),
            watchdogObserver: { isPinging in
                pings.count(isPinging)
            }
        )
        return (Running(try Daemon(configuration: configuration, options: options)), pings)
    }

    @Test("a broker down for 10 seconds costs no record, and the watchdog keeps pinging while the loop waits")
    func brokerOutage() throws {
        let cluster = try MockCluster(brokerCount: 1)
        try cluster.createTopic("outage-train", partitions: 2)
        var producerConfiguration = KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers])
        producerConfiguration["message.timeout.ms"] = "120000"
        let producer = try KafkaProducer(configuration: producerConfiguration)
        try DaemonTestBroker.produce(producer, topic: "outage-train", partitions: 2, count: 2000)

        let directory = try DaemonTestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try DaemonTestFiles.writeConfiguration(
            in: directory,
            bootstrapServers: cluster.bootstrapServers,
            topics: ["outage-train"],
            groupID: "outage"
        )
        let (running, pings) = try Self.startWatched(configurationAt: path)
        #expect(running.waitFor(timeout: .seconds(60)) { $0.recordsTrained == 2000 })

        // Down for 10 seconds; records produced meanwhile wait in the producer's queue.
        try cluster.setBrokerDown(1)
        let before = pings.counts
        try DaemonTestBroker.produceWithoutWaiting(
            producer,
            topic: "outage-train",
            partitions: 2,
            count: 2000,
            first: 2000
        )
        Thread.sleep(forTimeInterval: 10)
        let during = pings.counts
        try cluster.setBrokerUp(1)
        try producer.flush(timeout: .seconds(60))
        #expect(producer.failedDeliveryCount == 0)

        #expect(running.waitFor(timeout: .seconds(90)) { $0.recordsTrained == 4000 })
        let status = try running.stop()
        #expect(status == .success)

        // The loop kept polling (timing out) during the outage, so every tick pinged.
        #expect(during.sent - before.sent >= 10, "pings during the outage: \(during.sent - before.sent)")
        #expect(during.withheld == before.withheld)

        let checkpoint = try #require(DaemonTestFiles.newestCheckpoint(in: directory))
        let first = TopicPartition(topic: "outage-train", partition: 0)
        let second = TopicPartition(topic: "outage-train", partition: 1)
        #expect(checkpoint.offsets == [first: 2000, second: 2000])
        #expect(DaemonTestFiles.trainedCounts(checkpoint) == [first: 2000, second: 2000])
        #expect(checkpoint.metadata["records_trained"] == "4000")
        #expect(running.daemon.statistics.recordsTrained == 4000)
    }

    @Test("a slow broker, leader changes and request errors on fetch, commit, metadata and produce cost no record")
    func brokerFaults() throws {
        let cluster = try MockCluster(brokerCount: 3)
        try cluster.createTopic("faults-train", partitions: 3)
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers])
        )
        try DaemonTestBroker.produce(producer, topic: "faults-train", partitions: 3, count: 3000)

        let directory = try DaemonTestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try DaemonTestFiles.writeConfiguration(
            in: directory,
            bootstrapServers: cluster.bootstrapServers,
            topics: ["faults-train"],
            groupID: "faults",
            checkpointInterval: 0.5,
            metricsTopic: "faults-metrics",
            metricsInterval: 0.5
        )
        let (running, pings) = try Self.startWatched(configurationAt: path)
        #expect(running.waitFor(timeout: .seconds(60)) { $0.recordsTrained == 3000 })

        // A slow broker: every request takes 300 ms more, while new records arrive.
        for broker: Int32 in 1...3 { try cluster.setRoundTripTime(.milliseconds(300), broker: broker) }
        try DaemonTestBroker.produce(producer, topic: "faults-train", partitions: 3, count: 3000, first: 3000)
        #expect(running.waitFor(timeout: .seconds(60)) { $0.recordsTrained == 6000 })
        for broker: Int32 in 1...3 { try cluster.setRoundTripTime(.zero, broker: broker) }

        // Leaders move, and requests of each kind fail with retriable errors, while more arrive.
        for partition: Int32 in 0..<3 {
            try cluster.setPartitionLeader(topic: "faults-train", partition: partition, broker: (partition + 1) % 3 + 1)
        }
        cluster.pushRequestErrors(.fetch, [.notLeaderForPartition, .requestTimedOut, .transport])
        cluster.pushRequestErrors(.offsetCommit, [.requestTimedOut, .notCoordinator, .coordinatorNotAvailable])
        cluster.pushRequestErrors(.metadata, [.leaderNotAvailable, .transport])
        cluster.pushRequestErrors(.produce, [.notLeaderForPartition, .requestTimedOut])
        try DaemonTestBroker.produce(producer, topic: "faults-train", partitions: 3, count: 3000, first: 6000)
        #expect(running.waitFor(timeout: .seconds(90)) { $0.recordsTrained == 9000 })
        #expect(try running.stop() == .success)

        // Each record trained once: the checkpoint's per-partition counts are what was produced,
        // and the group's commits equal the checkpoint's offsets.
        let checkpoint = try #require(DaemonTestFiles.newestCheckpoint(in: directory))
        let expected = Dictionary(
            uniqueKeysWithValues: (0..<3).map { (TopicPartition(topic: "faults-train", partition: $0), Int64(3000)) }
        )
        #expect(checkpoint.offsets == expected)
        #expect(DaemonTestFiles.trainedCounts(checkpoint) == expected)
        #expect(checkpoint.metadata["records_trained"] == "9000")
        #expect(running.daemon.statistics.recordsTrained == 9000)
        let admin = KafkaAdmin(sharing: producer)
        let lag = try admin.lag(group: "faults", topics: ["faults-train"], timeout: .seconds(10))
        #expect(lag.count == 3)
        for partition in lag {
            #expect(partition.committedOffset == 3000, "committed offset of \(partition.topicPartition)")
            #expect(partition.lag == 0)
        }
        // The loop was never stuck: the watchdog was fed throughout.
        #expect(pings.counts.withheld == 0)
    }

    @Test("requestStop before the broker answers returns success without a checkpoint")
    func stopBeforeReady() throws {
        let directory = try DaemonTestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try DaemonTestFiles.writeConfiguration(
            in: directory,
            bootstrapServers: "127.0.0.1:1",
            topics: ["nowhere"]
        )
        let configuration = try DaemonConfiguration.load(contentsOf: path)
        let daemon = try Daemon(
            configuration: configuration,
            options: DaemonOptions(handlesSignals: false, notifiesSystemd: false)
        )
        let running = Running(daemon)
        #expect(!running.waitFor(timeout: .milliseconds(500)) { $0.isReady })
        #expect(try running.stop() == .success)
        #expect(daemon.statistics.isStopping)
        #expect(DaemonTestFiles.newestCheckpoint(in: directory) == nil)
    }
}

/// The training loop on real consumed batches: bad records, offsets, re-deliveries.
@Suite("Daemon training loop")
struct DaemonTrainingLoopTests {
    @Test("bad records are counted and skipped, every offset advances, and a re-delivery is never trained twice")
    func trainingLoop() throws {
        let cluster = try MockCluster(brokerCount: 1)
        try cluster.createTopic("loop-train", partitions: 1)
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers])
        )
        try DaemonTestBroker.produce(producer, topic: "loop-train", partitions: 1, count: 500, badEvery: 100)

        let configuration = DaemonConfiguration(
            kafka: .init(properties: [.init(key: "bootstrap.servers", value: cluster.bootstrapServers)]),
            training: .init(topics: ["loop-train"], groupID: "loop", pollMaxRecords: 256, batchSize: 16),
            model: .init(kind: .logistic, hiddenSizes: [], dropoutRates: []),
            checkpoint: .init(directory: "/nonexistent"),
            instance: "loop-test"
        )
        let badOffsets = Locked<[Int64]>([])
        let loop = TrainingLoop(
            model: Model(configuration: configuration.modelConfiguration),
            configuration: configuration,
            checkpoint: nil,
            badRecordHandler: { message, failure in
                badOffsets.withLock { $0.append(message.offset) }
                #expect(failure == .wrongFieldCount(expected: 18, found: 3))
            }
        )
        let partition = TopicPartition(topic: "loop-train", partition: 0)
        let batch = KafkaMessageBatch(capacity: 256)

        func readAll(from start: Int64) throws {
            let reader = try KafkaPartitionReader(
                configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers]),
                topic: "loop-train",
                partition: 0,
                startOffset: start,
                endOffset: 500
            )
            let deadline = ContinuousClock.now + .seconds(20)
            while !reader.isFinished, ContinuousClock.now < deadline {
                try reader.read(into: batch, maxMessages: 256, timeout: .milliseconds(200))
                loop.train(batch)
            }
            batch.release()
        }

        try readAll(from: 0)
        #expect(loop.recordsTrained == 495)
        #expect(loop.badRecords == 5)
        #expect(badOffsets.withLock { $0 } == [0, 100, 200, 300, 400])
        #expect(loop.startOffsets(for: [partition]) == [partition: 500])
        let step = loop.model.step

        // The same records again (a rebalance or seek re-delivers them): nothing changes.
        try readAll(from: 0)
        #expect(loop.recordsTrained == 495)
        #expect(loop.duplicatesSkipped == 500)
        #expect(loop.model.step == step)

        let checkpoint = loop.checkpoint(sequence: 1, metadata: ["instance": "loop-test"])
        #expect(checkpoint.offsets == [partition: 500])
        #expect(checkpoint.metadata["trained/loop-train/0"] == "495")
        #expect(checkpoint.metadata["bad/loop-train/0"] == "5")
        #expect(checkpoint.metadata["records_trained"] == "495")
        #expect(checkpoint.metadata["instance"] == "loop-test")

        // A loop restored from that checkpoint continues the counts and positions.
        let restored = TrainingLoop(
            model: try Model(state: checkpoint.model),
            configuration: configuration,
            checkpoint: checkpoint,
            badRecordHandler: { _, _ in }
        )
        #expect(restored.startOffsets(for: [partition]) == [partition: 500])
        #expect(restored.partitions.first?.trainedCount == 495)
    }
}
