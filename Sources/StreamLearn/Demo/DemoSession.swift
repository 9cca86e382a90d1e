import Foundation
import Kafka
import StreamLearnCore

/// One run of `streamlearn demo`: sets up the embedded broker, the producer and the daemon,
/// shows the daemon's metrics while it runs, stops everything in order and prints the summary.
///
/// Runs on the main thread; the producer and the daemon have threads of their own.
struct DemoSession {
    static let commandName = "streamlearn demo"
    static let trainingTopic = "susy-train"
    static let metricsTopic = "streamlearn.metrics"
    /// Enough that a daemon that falls behind for about 15 s at the default rate still finds
    /// its records (the broker keeps 5 MiB per partition).
    static let partitionCount: Int32 = 8
    static let metricsIntervalSeconds = 1.0
    static let checkpointIntervalSeconds = 10.0
    static let stopTimeout: Duration = .seconds(30)
    /// Rows the daemon may fall behind before production pauses: well inside what 8
    /// partitions of 5 MiB hold (about 115 bytes a row with lz4).
    static let backlogLimit = 200_000

    let seconds: Int
    let rowsPerSecond: Int

    /// When the concept drifts: half-way through the run.
    var driftAfter: Duration { .milliseconds(seconds * 500) }

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
            metricsIntervalSeconds: Self.metricsIntervalSeconds
        ).make(commandName: Self.commandName)

        let rows: SteadyRateProducer
        let daemon: BackgroundDaemon
        let metricsReader: KafkaPartitionReader
        do {
            daemon = try BackgroundDaemon(configuration: configuration)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration([
                    "bootstrap.servers": bootstrap, "compression.codec": "lz4", "linger.ms": "20",
                ]),
                logHandler: kafkaLog.handler
            )
            rows = SteadyRateProducer(
                producer: producer,
                topic: Self.trainingTopic,
                partitionCount: Self.partitionCount,
                rowsPerSecond: rowsPerSecond,
                seed: 42,
                driftAfter: driftAfter,
                backlogLimit: Self.backlogLimit,
                trainedCount: { [daemon] in daemon.statistics.recordsTrained }
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
        daemon.start()

        var progress = DemoProgress(start: start)
        let outcome = watch(
            daemon: daemon,
            rows: rows,
            reader: metricsReader,
            view: view,
            interrupts: interrupts,
            progress: &progress
        )

        // Stop the source first, so that the counts in the summary are final.
        let produced = rows.stop(flushTimeout: .seconds(10))
        let stopped: Result<ExitCode, any Error>?
        switch outcome {
        case .daemonEnded(let result): stopped = result
        case .timeUp, .interrupted: stopped = daemon.stop(timeout: Self.stopTimeout)
        }
        let elapsed = ContinuousClock.now - start
        let statistics = daemon.statistics
        progress.observe(statistics.recordsTrained, at: .now)

        var summary = DemoSummary(
            elapsed: elapsed,
            produced: produced,
            statistics: statistics,
            trainingRate: progress.trainingRate,
            lastMetrics: progress.lastMetrics,
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

    /// Shows the metrics until time is up, a signal arrives, or the daemon ends on its own.
    private func watch(
        daemon: BackgroundDaemon,
        rows: SteadyRateProducer,
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
                let elapsed = ContinuousClock.now - progress.start
                let row = MetricsView.Row(
                    seconds: Double(elapsed.components.seconds),
                    produced: snapshot.produced,
                    trained: metrics.recordsTrained,
                    recordsPerSecond: metrics.recordsPerSecond,
                    lag: metrics.lag,
                    loss: metrics.loss,
                    accuracy: metrics.accuracy,
                    auc: metrics.auc,
                    checkpoint: metrics.checkpointSequence,
                    note: note
                )
                view.append(row, status: status(rows: snapshot, deadline: deadline))
                nextStatus = .now + .seconds(1)
            }
            batch.release()
            if view.isTerminal && ContinuousClock.now >= nextStatus {
                view.redraw(status: status(rows: rows.snapshot, deadline: deadline))
                nextStatus = .now + .milliseconds(500)
            }
        }
    }

    private func status(rows: SteadyRateProducer.Snapshot, deadline: ContinuousClock.Instant) -> String {
        let left = max(Int((deadline - .now).components.seconds), 0)
        let concept = rows.concept == .drifted ? "drifted concept" : "original concept"
        let pace =
            rows.isHeldBack
            ? "held back while the daemon is \(DemoFormat.grouped(Double(Self.backlogLimit))) rows behind"
            : "producing \(DemoFormat.grouped(Double(rowsPerSecond))) rows/s"
        return "\(pace) (\(concept)), \(DemoFormat.grouped(Double(rows.produced))) so far; "
            + "\(left) s left, Ctrl-C stops early"
    }

    private func introduction(bootstrap: String) -> String {
        """
        streamlearn demo: embedded Kafka broker at \(bootstrap); \(DemoFormat.grouped(Double(rowsPerSecond))) \
        generated SUSY-shaped rows/s into '\(Self.trainingTopic)' (\(Self.partitionCount) partitions), concept \
        drift after \(seconds / 2) s; the daemon trains the tutorial's MLP and publishes \
        metrics every second to '\(Self.metricsTopic)'. Running for \(seconds) s.
        """
    }
}

/// What the demo learns about the daemon while it runs: when training started, and the
/// newest metrics message.
struct DemoProgress {
    let start: ContinuousClock.Instant
    private var firstTrained: (count: Int64, instant: ContinuousClock.Instant)?
    private var lastTrained: (count: Int64, instant: ContinuousClock.Instant)?
    var lastMetrics: DemoMetricsMessage?

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
