import Foundation
import Kafka
import StreamLearnCore
import Synchronization

/// One run of `streamlearn demo`: sets up the embedded broker, the producers of the training
/// and test streams and the daemon (training, inference with exactly-once predictions, a
/// dead-letter topic, as config/streamlearn.json has it), shows the daemon's metrics while it
/// runs, stops everything in order and prints the summary.
///
/// Runs on the main thread; the producers and the daemon have threads of their own.
struct DemoSession {
    static let commandName = "streamlearn demo"
    static let trainingTopic = "susy-train"
    static let testTopic = "susy-test"
    static let predictionsTopic = "streamlearn.predictions"
    static let deadLetterTopic = "streamlearn.dead-letter"
    static let metricsTopic = "streamlearn.metrics"
    static let inferenceGroupID = "streamlearn-inference"
    /// Enough that a daemon that falls behind for about 15 s at the default rate still finds
    /// its records (the broker keeps 5 MiB per partition).
    static let partitionCount: Int32 = 8
    /// The test stream comes at a quarter of the training rate; its predictions go to as many
    /// partitions as it has (input partition p -> predictions partition p).
    static let testRateDivisor = 4
    static let testPartitionCount: Int32 = 4
    /// One row in this many of each stream is malformed, so that the dead-letter topic has
    /// something to show.
    static let malformedEvery = 2_000
    static let metricsIntervalSeconds = 1.0
    /// Inference scores with the model of the newest checkpoint: often, so that it keeps up.
    static let checkpointIntervalSeconds = 3.0
    static let stopTimeout: Duration = .seconds(30)
    /// Rows the daemon may fall behind before production pauses: well inside what 8
    /// partitions of 5 MiB hold (about 115 bytes a row with lz4).
    static let backlogLimit = 200_000

    let seconds: Int
    let rowsPerSecond: Int

    /// When the concept drifts: half-way through the run.
    var driftAfter: Duration { .milliseconds(seconds * 500) }

    /// Rows per second of the test stream.
    var testRowsPerSecond: Int { max(rowsPerSecond / Self.testRateDivisor, 1) }

    func run() throws -> ExitCode {
        let logger = Logger(label: Self.commandName)
        let interrupts = InterruptFlag()
        defer { interrupts.cancel() }
        // A reader of stdout that goes away (`| head`) must not kill the demo half-way.
        signal(SIGPIPE, SIG_IGN)
        let kafkaLog = KafkaWarningLog(logger: logger)

        let cluster: MockCluster
        do {
            cluster = try MockCluster(logHandler: kafkaLog.handler)
            try cluster.createTopic(Self.trainingTopic, partitions: Self.partitionCount)
            try cluster.createTopic(Self.testTopic, partitions: Self.testPartitionCount)
            // The daemon reads the predictions topic's partition count once, at start.
            try cluster.createTopic(Self.predictionsTopic, partitions: Self.testPartitionCount)
            try cluster.createTopic(Self.deadLetterTopic, partitions: 1)
            try cluster.createTopic(Self.metricsTopic, partitions: 1)
        } catch {
            throw CommandError(.failure, "\(Self.commandName): Failed to start the embedded broker: \(error)")
        }
        let bootstrap = cluster.bootstrapServers
        let directory = try TemporaryDirectory(prefix: "streamlearn-demo", commandName: Self.commandName)
        defer {
            if let problem = directory.remove() { logger.warning(problem + ", ignoring") }
        }
        let configuration = try InProcessDaemonConfiguration(
            bootstrapServers: bootstrap,
            trainingTopic: Self.trainingTopic,
            groupID: "streamlearn",
            checkpointDirectory: directory.path,
            metricsTopic: Self.metricsTopic,
            checkpointIntervalSeconds: Self.checkpointIntervalSeconds,
            metricsIntervalSeconds: Self.metricsIntervalSeconds,
            inference: .init(
                topic: Self.testTopic,
                groupID: Self.inferenceGroupID,
                predictionsTopic: Self.predictionsTopic
            ),
            deadLetterTopic: Self.deadLetterTopic
        ).make(commandName: Self.commandName)

        let rows: SteadyRateProducer
        let testRows: SteadyRateProducer
        let producer: KafkaProducer
        let daemon: BackgroundDaemon
        let metricsReader: KafkaPartitionReader
        // Test rows the inference loop has taken, as the newest metrics message says; the
        // test stream's back-pressure.
        let inferenceTaken = SharedCount()
        do {
            daemon = try BackgroundDaemon(configuration: configuration)
            let producerConfiguration = KafkaConfiguration([
                "bootstrap.servers": bootstrap, "compression.codec": "lz4", "linger.ms": "20",
            ])
            producer = try KafkaProducer(configuration: producerConfiguration, logHandler: kafkaLog.handler)
            rows = SteadyRateProducer(
                producer: producer,
                topic: Self.trainingTopic,
                partitionCount: Self.partitionCount,
                rowsPerSecond: rowsPerSecond,
                seed: 42,
                driftAfter: driftAfter,
                backlogLimit: Self.backlogLimit,
                malformedEvery: Self.malformedEvery,
                consumedCount: { [daemon] in
                    let statistics = daemon.statistics
                    return statistics.recordsTrained + statistics.badRecords
                }
            )
            // Rows of the same process (another seed of the family), labelled, drifting at the
            // same moment: what the model meets after training, scored as it learns.
            testRows = SteadyRateProducer(
                producer: try KafkaProducer(configuration: producerConfiguration, logHandler: kafkaLog.handler),
                topic: Self.testTopic,
                partitionCount: Self.testPartitionCount,
                rowsPerSecond: testRowsPerSecond,
                seed: 4_242,
                driftAfter: driftAfter,
                backlogLimit: Self.backlogLimit / Self.testRateDivisor,
                malformedEvery: Self.malformedEvery,
                consumedCount: { [inferenceTaken] in inferenceTaken.value }
            )
            metricsReader = try KafkaPartitionReader(
                configuration: KafkaConfiguration(["bootstrap.servers": bootstrap]),
                topic: Self.metricsTopic,
                partition: 0,
                startOffset: KafkaOffset.beginning,
                logHandler: kafkaLog.handler
            )
        } catch let error as CommandError {
            throw error
        } catch {
            throw CommandError(.failure, "\(Self.commandName): Failed to set up: \(error)")
        }

        let view = MetricsView()
        view.note(introduction(bootstrap: bootstrap))
        let start = ContinuousClock.now
        rows.start()
        testRows.start()
        daemon.start()

        var progress = DemoProgress(start: start)
        let outcome = watch(
            daemon: daemon,
            streams: Streams(training: rows, test: testRows, inferenceTaken: inferenceTaken),
            reader: metricsReader,
            view: view,
            interrupts: interrupts,
            progress: &progress
        )

        // Stop the sources first, so that the counts in the summary are final.
        let produced = rows.stop(flushTimeout: .seconds(10))
        let testProduced = testRows.stop(flushTimeout: .seconds(10))
        let stopped: Result<ExitCode, any Error>?
        switch outcome {
        case .daemonEnded(let result): stopped = result
        case .timeUp, .interrupted: stopped = daemon.stop(timeout: Self.stopTimeout)
        }
        let elapsed = ContinuousClock.now - start
        let statistics = daemon.statistics
        progress.observe(statistics.recordsTrained, at: .now)
        if stopped != nil {
            progress.finalMetrics = Self.readToEnd(metricsReader) ?? progress.lastMetrics
        }
        let outputTopics = DemoOutputTopics(
            producer: producer,
            bootstrapServers: bootstrap,
            predictionsTopic: Self.predictionsTopic,
            predictionPartitions: Self.testPartitionCount,
            deadLetterTopic: Self.deadLetterTopic,
            logHandler: kafkaLog.handler
        )

        var summary = DemoSummary(
            elapsed: elapsed,
            produced: produced,
            testProduced: testProduced,
            statistics: statistics,
            trainingRate: progress.trainingRate,
            lastMetrics: progress.lastMetrics,
            finalMetrics: progress.finalMetrics,
            outputTopics: outputTopics,
            checkpointDirectory: directory.path
        )
        if case .interrupted = outcome { summary.interruption = interrupts.signalNumber }
        view.note(summary.text)
        withExtendedLifetime(cluster) {}

        guard let stopped else {
            throw CommandError(
                .failure,
                "\(Self.commandName): the daemon did not stop within \(Self.stopTimeout); giving up"
            )
        }
        switch stopped {
        case .success(.success):
            return .success
        case .success(let code):
            throw CommandError(code, "\(Self.commandName): the daemon exited with status \(code.rawValue)")
        case .failure(let error as CommandError):
            throw error
        case .failure(let error):
            throw CommandError(.failure, "\(Self.commandName): the daemon failed: \(error)")
        }
    }

    /// Why the live view ended.
    private enum Outcome {
        case timeUp
        case interrupted
        case daemonEnded(Result<ExitCode, any Error>)
    }

    /// The demo's two producers, and what the inference loop has taken of the second.
    private struct Streams {
        let training: SteadyRateProducer
        let test: SteadyRateProducer
        let inferenceTaken: SharedCount
    }

    /// The newest message of the metrics topic, read up to its high watermark: after the
    /// daemon's stop, the final one it publishes, with its counts since start complete. Nil if
    /// there is none or the topic cannot be read within a few seconds.
    private static func readToEnd(_ reader: KafkaPartitionReader) -> DemoMetricsMessage? {
        guard let end = try? reader.queryWatermarks(timeout: .seconds(5)).high else { return nil }
        let batch = KafkaMessageBatch(capacity: 16)
        defer { batch.release() }
        let deadline = ContinuousClock.now + .seconds(5)
        var newest: DemoMetricsMessage?
        while (reader.nextOffset ?? 0) < end && ContinuousClock.now < deadline {
            guard (try? reader.read(into: batch, maxMessages: batch.capacity, timeout: .milliseconds(200))) != nil
            else { return newest }
            for message in batch {
                guard let value = message.value, let metrics = DemoMetricsMessage(json: value) else { continue }
                newest = metrics
            }
            batch.release()
        }
        return newest
    }

    /// Shows the metrics until time is up, a signal arrives, or the daemon ends on its own.
    private func watch(
        daemon: BackgroundDaemon,
        streams: Streams,
        reader: KafkaPartitionReader,
        view: MetricsView,
        interrupts: InterruptFlag,
        progress: inout DemoProgress
    ) -> Outcome {
        let deadline = progress.start + .seconds(seconds)
        let batch = KafkaMessageBatch(capacity: 16)
        var nextStatus = ContinuousClock.now
        var hasDriftBeenShown = false
        var readFailures = 0
        if !view.isTerminal {
            view.note("Waiting for the daemon's first metrics (the first group join takes about 3 s)...")
        }
        while true {
            if interrupts.isRaised { return .interrupted }
            if let result = daemon.result { return .daemonEnded(result) }
            let now = ContinuousClock.now
            if now >= deadline { return .timeUp }
            progress.observe(daemon.statistics.recordsTrained, at: now)
            let rows = streams.training

            do {
                let wait = min(deadline - now, .milliseconds(200))
                try reader.read(into: batch, maxMessages: batch.capacity, timeout: wait)
            } catch {
                // The view is a convenience; the daemon goes on, and the summary still comes.
                readFailures += 1
                if readFailures == 1 { view.note("Failed to read the metrics topic: \(error), ignoring") }
            }
            for message in batch {
                guard let value = message.value, let metrics = DemoMetricsMessage(json: value) else { continue }
                let snapshot = rows.snapshot
                var note = ""
                if !hasDriftBeenShown && snapshot.concept == .drifted {
                    note = "concept drift in the produced rows"
                    hasDriftBeenShown = true
                }
                progress.lastMetrics = metrics
                streams.inferenceTaken.value = Int64(metrics.inferenceRecords ?? 0)
                let elapsed = ContinuousClock.now - progress.start
                let row = MetricsView.Row(
                    seconds: Double(elapsed.components.seconds),
                    produced: snapshot.produced,
                    trained: metrics.recordsTrained,
                    recordsPerSecond: metrics.recordsPerSecond,
                    lag: metrics.lag,
                    accuracy: metrics.accuracy,
                    auc: metrics.auc,
                    checkpoint: metrics.checkpointSequence,
                    predictions: metrics.predictions,
                    inferenceAccuracy: metrics.inferenceAccuracy,
                    badRecords: metrics.allBadRecords,
                    deadLettered: metrics.deadLettered,
                    note: note
                )
                view.append(row, status: status(rows: snapshot, test: streams.test.snapshot, deadline: deadline))
                nextStatus = .now + .seconds(1)
            }
            batch.release()
            if view.isTerminal && ContinuousClock.now >= nextStatus {
                view.redraw(status: status(rows: rows.snapshot, test: streams.test.snapshot, deadline: deadline))
                nextStatus = .now + .milliseconds(500)
            }
        }
    }

    private func status(
        rows: SteadyRateProducer.Snapshot,
        test: SteadyRateProducer.Snapshot,
        deadline: ContinuousClock.Instant
    ) -> String {
        let left = max(Int((deadline - .now).components.seconds), 0)
        let concept = rows.concept == .drifted ? "concept drifted" : "original concept"
        let pause = rows.isHeldBack || test.isHeldBack ? ", paused: the daemon is far behind" : ""
        return "produced \(DemoFormat.grouped(Double(rows.produced))) + \(DemoFormat.grouped(Double(test.produced))) "
            + "test rows (\(concept))\(pause); \(left) s left, Ctrl-C stops early"
    }

    private func introduction(bootstrap: String) -> String {
        """
        streamlearn demo: embedded Kafka broker at \(bootstrap); \(DemoFormat.grouped(Double(rowsPerSecond))) \
        generated SUSY-shaped rows/s into '\(Self.trainingTopic)' (\(Self.partitionCount) partitions) and \
        \(DemoFormat.grouped(Double(testRowsPerSecond))) labelled test rows/s into '\(Self.testTopic)', 1 in \
        \(DemoFormat.grouped(Double(Self.malformedEvery))) of each malformed on purpose, concept drift after \
        \(seconds / 2) s. The daemon trains the tutorial's MLP on '\(Self.trainingTopic)', scores \
        '\(Self.testTopic)' into '\(Self.predictionsTopic)' (exactly-once), copies bad records to \
        '\(Self.deadLetterTopic)' and publishes metrics every second to '\(Self.metricsTopic)'. \
        Running for \(seconds) s.
        """
    }
}

/// A count that one thread sets and others read.
final class SharedCount: Sendable {
    private let storage = Atomic<Int64>(0)

    var value: Int64 {
        get { storage.load(ordering: .relaxed) }
        set { storage.store(newValue, ordering: .relaxed) }
    }
}

/// What the demo learns about the daemon while it runs: when training started, the newest
/// metrics message shown, and the final one after the stop.
struct DemoProgress {
    let start: ContinuousClock.Instant
    private var firstTrained: (count: Int64, instant: ContinuousClock.Instant)?
    private var lastTrained: (count: Int64, instant: ContinuousClock.Instant)?
    var lastMetrics: DemoMetricsMessage?
    var finalMetrics: DemoMetricsMessage?

    init(start: ContinuousClock.Instant) {
        self.start = start
    }

    /// Records the daemon's trained count as seen at `instant`.
    mutating func observe(_ trained: Int64, at instant: ContinuousClock.Instant) {
        guard trained > 0 else { return }
        if firstTrained == nil { firstTrained = (trained, instant) }
        if trained != lastTrained?.count { lastTrained = (trained, instant) }
    }

    /// Records per second from the first record trained to the last, nil before two looks.
    var trainingRate: Double? {
        guard let firstTrained, let lastTrained, lastTrained.count > firstTrained.count else { return nil }
        let elapsed = lastTrained.instant - firstTrained.instant
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return seconds > 0 ? Double(lastTrained.count - firstTrained.count) / seconds : nil
    }
}
