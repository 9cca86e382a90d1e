import Dispatch
import Foundation
import Kafka
import Locking
import StreamLearnCore
import Synchronization
import Systemd

/// The long-running learner behind `streamlearn run`: consumes the training topics in per-poll
/// mini-datasets, scores and trains on each, checkpoints on a schedule, publishes metrics, and
/// keeps systemd informed, with the guarantees of DESIGN.md ("Guarantees of run").
///
/// Queues and threads:
/// - the caller of `run()` is the poll thread: it polls Kafka (rebalance callbacks arrive there)
///   and hands each poll's records to the training queue synchronously, so it polls again only
///   when training is done (back-pressure);
/// - the training queue (serial) owns the `TrainingLoop`: model, offsets, counters;
/// - the checkpoint queue (serial) writes checkpoints and commits offsets, on its timer, on a
///   revoke and at shutdown; a checkpoint is snapshotted on the training queue;
/// - the control queue runs the metrics timer, the watchdog queue the watchdog timer;
/// - with an inference section, an `InferenceRunner` thread serves inference: it scores with a
///   `ModelSnapshotScorer`, a copy of the model that the checkpoint queue replaces after each
///   durable checkpoint, so every prediction names a checkpoint that reproduces it.
///
/// Bad records of both loops go to one `DeadLetterPublisher` (counted and logged, and copied to
/// dead_letter.topic when set). Its copies are flushed before a checkpoint is written, so a
/// checkpoint never covers a bad record whose copy could still be in librdkafka's queue.
///
/// Exactly-once: offsets are committed only after the checkpoint holding them is durable; on
/// assignment the checkpoint's offsets win; a record below its partition's next offset is never
/// trained again.
///
/// `@unchecked Sendable`: immutable after `init` except for state guarded by a Mutex or atomic,
/// and state owned by one queue or thread, as each property's comment says.
final class Daemon: @unchecked Sendable {
    let configuration: DaemonConfiguration
    let options: DaemonOptions

    private let logger: Logger
    private let notifier: SystemdNotifier?
    private let store: CheckpointStore
    private let startedAt = ContinuousClock.now

    private let trainingQueue = DispatchQueue(label: "streamlearn.daemon.training")
    private let checkpointQueue = DispatchQueue(label: "streamlearn.daemon.checkpoint")
    private let controlQueue = DispatchQueue(label: "streamlearn.daemon.control")
    private let watchdogQueue = DispatchQueue(label: "streamlearn.daemon.watchdog")

    private let isStopRequested = Atomic<Bool>(false)
    private let hasRun = Atomic<Bool>(false)
    private let statisticsState = Locked(DaemonStatistics())
    /// When the newest durable checkpoint was written (file time for a loaded one).
    private let checkpointDate = Locked<Date?>(nil)
    private let kafkaErrorCount = Atomic<Int64>(0)
    private let kafkaErrorLog = SharedLogThrottle(burst: 5, period: .seconds(30))

    /// Set once in `run()` before any queue uses it; read-only afterwards.
    private var session: Session?

    // Checkpoint queue only.
    private var nextSequence: Int64 = 1
    /// The training loop's `version` that the newest durable checkpoint holds; 0 is the state
    /// at start (a fresh model needs no file until it has learned something).
    private var checkpointedVersion: Int64 = 0
    private var durableOffsets: [TopicPartition: Int64] = [:]
    /// Checkpoint writes that failed in a row, and the log limit for them.
    private var failedCheckpointWrites = 0
    private var checkpointErrorLog = LogThrottle(burst: 3, period: .seconds(300))

    // Poll thread only: restarts librdkafka's fetcher when it may have stopped at the prefetch
    // bound (see `consumerConfiguration`); set with the consumer.
    private var prefetchMonitor: KafkaPrefetchMonitor?

    // Control queue only.
    private var lastMetricsInstant = ContinuousClock.now
    private var lastMetricsRecords: Int64 = 0

    /// Set when the inference thread stopped on a fatal error: the daemon exits with failure.
    private let isInferenceFailed = Atomic<Bool>(false)

    /// What `run()` sets up, shared by the queues.
    private struct Session {
        let loop: TrainingLoop
        let consumer: KafkaConsumer
        let producer: KafkaProducer
        let watchdog: WatchdogMonitor
        let deadLetters: DeadLetterPublisher
        /// The model inference scores with, and the thread serving it; nil without inference.
        let scorer: ModelSnapshotScorer?
        let inference: InferenceService?
    }

    /// Validates nothing more (the configuration is already valid); touches neither Kafka nor
    /// the disk.
    init(configuration: DaemonConfiguration, options: DaemonOptions) throws {
        self.configuration = configuration
        self.options = options
        logger = Logger(label: "streamlearn run", minimumLevel: configuration.logLevel)
        notifier = options.notifiesSystemd ? SystemdNotifier() : nil
        store = CheckpointStore(
            directory: configuration.checkpoint.directory,
            keep: configuration.checkpoint.keep
        )
    }

    /// Thread-safe snapshot of the counters; see `DaemonStatistics`.
    var statistics: DaemonStatistics {
        statisticsState.withLock { $0 }
    }

    /// Asks a running daemon to stop gracefully: the same path as the first SIGTERM. The poll
    /// loop leaves after its current poll; then final checkpoint, commit, producer flush and
    /// group leave. Thread-safe; later calls do nothing.
    func requestStop() {
        guard !isStopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        statisticsState.withLock { $0.isStopping = true }
        notify("STOPPING=1") { try $0.stopping() }
    }

    // MARK: - Running

    /// Loads the checkpoint, connects, serves until `requestStop()` or SIGTERM/SIGINT, then
    /// shuts down in DESIGN.md's order and returns the exit status. Blocks the caller, whose
    /// thread becomes the poll thread. Call it once.
    ///
    /// Throws `CommandError`: 78 for a checkpoint of another model shape (without
    /// `--reset-model`) or Kafka properties librdkafka refuses together, 65 when every
    /// checkpoint is damaged, 74 when the checkpoint directory is unusable, 69 when Kafka
    /// clients cannot be created.
    func run() throws -> ExitCode {
        precondition(!hasRun.exchange(true, ordering: .relaxed), "Daemon.run() called twice")
        var signals: DaemonSignals?
        if options.handlesSignals {
            signals = DaemonSignals(
                onFirst: { [self] number in
                    logger.notice("Received \(ShutdownSignals.name(of: number)), stopping gracefully")
                    requestStop()
                },
                onSecond: { [logger] number in
                    logger.warning("Received \(ShutdownSignals.name(of: number)) again, exiting at once")
                    _exit(ExitCode.failure.rawValue)
                }
            )
        }
        defer { signals?.cancel() }

        let watchdog = WatchdogMonitor(
            allowedPollTime: configuration.training.pollTimeout + .seconds(30)
        )
        let watchdogTimer = try startWatchdogTimer(watchdog)
        defer { watchdogTimer?.cancel() }

        let (model, checkpoint) = try loadModel()
        let producer: KafkaProducer
        let deadLetters: DeadLetterPublisher
        do {
            producer = try KafkaProducer(
                configuration: producerConfiguration(),
                queueFullTimeout: .seconds(1),
                logHandler: kafkaLogHandler()
            )
            deadLetters = try DeadLetterPublisher(
                configuration: producerConfiguration(),
                topic: configuration.deadLetter?.topic,
                instance: configuration.instance,
                logger: logger,
                kafkaLogHandler: kafkaLogHandler()
            )
        } catch {
            throw kafkaSetupError(error)
        }
        let loop = TrainingLoop(
            model: model,
            configuration: configuration,
            checkpoint: checkpoint,
            badRecordHandler: { message, failure in
                deadLetters.handle(failure, message: message)
            }
        )
        guard awaitMetadata(producer: producer, watchdog: watchdog) else {
            logger.notice("Stopped before Kafka answered")
            return .success
        }
        let consumer: KafkaConsumer
        do {
            let consumerSettings = consumerConfiguration()
            consumer = try KafkaConsumer(configuration: consumerSettings, logHandler: kafkaLogHandler())
            prefetchMonitor = KafkaPrefetchMonitor(configuration: consumerSettings)
            try consumer.subscribe(to: configuration.training.topics)
        } catch {
            throw kafkaSetupError(error)
        }
        let scorer: ModelSnapshotScorer?
        let inference: InferenceService?
        if let settings = InferenceSettings(configuration: configuration, kafka: inferenceConfiguration()) {
            (scorer, inference) = try makeInference(
                settings,
                loop: loop,
                checkpoint: checkpoint,
                deadLetters: deadLetters
            )
        } else {
            (scorer, inference) = (nil, nil)
        }
        session = Session(
            loop: loop,
            consumer: consumer,
            producer: producer,
            watchdog: watchdog,
            deadLetters: deadLetters,
            scorer: scorer,
            inference: inference
        )
        publishStatistics(loop)
        let inferenceRunner = inference.map { service in
            InferenceRunner(service: service, logger: logger) { [self] _ in
                isInferenceFailed.store(true, ordering: .relaxed)
                logger.error("Inference stopped on a fatal Kafka error; stopping the daemon")
                requestStop()
            }
        }
        inferenceRunner?.start()

        statisticsState.withLock { $0.isReady = true }
        let readyLine =
            "Ready: learning from \(configuration.training.topics.joined(separator: ", ")) as group "
            + "'\(configuration.training.groupID)', checkpoints in '\(store.directory)'"
        notify("READY=1") { try $0.ready(status: readyLine) }
        logger.notice(readyLine)
        let checkpointTimer = startTimer(
            on: checkpointQueue,
            every: configuration.checkpoint.interval
        ) { [self] in
            _ = checkpointAndCommit(reason: "interval")
        }
        lastMetricsInstant = .now
        let metricsTimer = startTimer(on: controlQueue, every: configuration.metrics.interval) { [self] in
            reportMetrics()
        }

        var status = pollUntilStopped()

        // Shutdown, in DESIGN.md's order: stop polling (done; inference too, which flushes and
        // commits its predictions and leaves its group), final checkpoint, commit, producer
        // flush, group leave.
        watchdog.beginShutdown()
        requestStop()
        if let inferenceRunner, !inferenceRunner.stop(timeout: .seconds(20)) {
            logger.warning("Inference did not stop within 20 s; its last batch stays uncommitted")
        }
        if isInferenceFailed.load(ordering: .relaxed) { status = .failure }
        checkpointTimer.cancel()
        metricsTimer.cancel()
        // Let a timer handler that is running finish before the final steps.
        checkpointQueue.sync {}
        controlQueue.sync {}
        logger.notice("Stopping: writing the final checkpoint")
        _ = checkpointQueue.sync { checkpointAndCommit(reason: "shutdown") }
        controlQueue.sync { reportMetrics() }
        do {
            try producer.flush(timeout: .seconds(10))
        } catch {
            logger.warning("Failed to flush the metrics producer: \(error), ignoring")
        }
        flushDeadLetters(deadLetters, timeout: .seconds(10))
        do {
            try consumer.close(onRebalance: { [self] event in try handleRebalance(event) })
        } catch {
            logger.warning("Failed to leave group '\(configuration.training.groupID)' cleanly: \(error)")
        }
        // The consumer and producer are closed; release their handles now, not with the Daemon.
        session = nil
        let final = statistics
        logger.notice(
            "Stopped: trained \(final.recordsTrained) records in this run, model step \(final.modelStep), "
                + "checkpoint \(final.checkpointSequence.map(String.init) ?? "none")"
        )
        return status
    }

    /// The poll loop, on the caller's thread: returns `.success` when a stop was requested,
    /// `.failure` after a fatal consumer error.
    private func pollUntilStopped() -> ExitCode {
        guard let session else { return .failure }
        let batch = KafkaMessageBatch(capacity: configuration.training.pollMaxRecords)
        defer { batch.release() }
        while !isStopRequested.load(ordering: .acquiring) {
            session.watchdog.pollWillBegin()
            do {
                try session.consumer.poll(
                    into: batch,
                    maxMessages: configuration.training.pollMaxRecords,
                    timeout: configuration.training.pollTimeout,
                    onRebalance: { [self] event in try handleRebalance(event) }
                )
            } catch let error as KafkaError where !error.isFatal {
                countKafkaError(error)
            } catch {
                session.watchdog.pollDidEnd()
                logger.error("Failed to consume from Kafka, stopping: \(error)")
                return .failure
            }
            session.watchdog.pollDidEnd()
            for error in batch.errors { countKafkaError(error) }
            // Before training: the queue the poll left decides whether to wake the fetcher,
            // so that the next records arrive while this poll's are learned.
            prefetchMonitor?.didPoll(batch, consumer: session.consumer)
            trainingQueue.sync {
                session.loop.train(batch)
                publishStatistics(session.loop)
            }
        }
        return .success
    }

    // MARK: - Rebalances

    /// Runs on the poll thread inside `poll` or `close`.
    ///
    /// Assigned partitions start at the loop's next offsets (the checkpoint's, or further when
    /// trained since), which win over committed ones, as DESIGN.md says; partitions the loop
    /// does not know start at the committed offset, else auto.offset.reset. Revoked partitions
    /// are checkpointed and committed before they go. Positions are never forgotten: this
    /// model has learned exactly the records before them, so if a partition comes back (after a
    /// rebalance, or after the group lost it while the coordinator was unreachable) it resumes
    /// there, and no record is learned twice or skipped by this model.
    private func handleRebalance(_ event: KafkaRebalance) throws -> [KafkaTopicPartition: Int64] {
        guard let session else { return [:] }
        let partitions = event.partitions.map { TopicPartition(topic: $0.topic, partition: $0.partition) }
        let names = partitions.map(\.description).joined(separator: ", ")
        prefetchMonitor?.reset()
        switch event.kind {
        case .assigned:
            let starts = trainingQueue.sync { session.loop.startOffsets(for: partitions) }
            let fromCheckpoint = starts.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }
            logger.notice(
                "Assigned \(partitions.count) partitions (\(event.rebalanceProtocol.rawValue)): \(names)",
                [
                    "start_offsets": fromCheckpoint.isEmpty
                        ? "committed" : fromCheckpoint.joined(separator: ",")
                ]
            )
            var result: [KafkaTopicPartition: Int64] = [:]
            for (topicPartition, offset) in starts {
                let partition = KafkaTopicPartition(
                    topic: topicPartition.topic,
                    partition: topicPartition.partition
                )
                result[partition] = offset
            }
            return result
        case .revoked:
            logger.notice("Revoking \(partitions.count) partitions: \(names); checkpointing them first")
            _ = checkpointQueue.sync { checkpointAndCommit(reason: "revoke") }
            return [:]
        case .lost:
            logger.warning(
                "Lost \(partitions.count) partitions: \(names); the group moved on without this "
                    + "member, nothing is committed for them"
            )
            return [:]
        }
    }

    // MARK: - Inference

    /// Creates the inference service over a copy of the loop's model and starts it (predictions
    /// topic described, inference topics subscribed). A model that no checkpoint holds yet is
    /// written first, so that every prediction names a checkpoint that reproduces it.
    ///
    /// Throws `CommandError`: 78 when the predictions topic does not exist or librdkafka refuses
    /// the properties, 69 when no broker answers, 74 when the first checkpoint cannot be written.
    private func makeInference(
        _ settings: InferenceSettings,
        loop: TrainingLoop,
        checkpoint: Checkpoint?,
        deadLetters: DeadLetterPublisher
    ) throws -> (ModelSnapshotScorer, InferenceService) {
        var sequence = checkpoint?.sequence
        var state = checkpoint?.model
        if state == nil || checkpointedVersion != 0 {
            let firstSequence = nextSequence
            let metadata = checkpointMetadata()
            let fresh = trainingQueue.sync { loop.checkpoint(sequence: firstSequence, metadata: metadata) }
            do {
                let path = try store.write(fresh)
                logger.notice(
                    "Wrote checkpoint \(fresh.sequence) of the model inference starts with",
                    ["path": path]
                )
            } catch {
                throw CommandError(.ioError, "streamlearn run: \(error)")
            }
            noteDurable(fresh, version: trainingQueue.sync { loop.version })
            (sequence, state) = (fresh.sequence, fresh.model)
        }
        guard let state else { preconditionFailure("a checkpoint was just loaded or written") }
        do {
            let scorer = try ModelSnapshotScorer(
                state: state,
                version: ModelVersion(step: state.optimizer.step, checkpointSequence: sequence)
            )
            let service = try InferenceService(
                settings: settings,
                scorer: scorer,
                deadLetters: deadLetters,
                logger: logger,
                kafkaLogHandler: kafkaLogHandler()
            )
            try service.start()
            return (scorer, service)
        } catch InferenceError.missingPredictionsTopic(let topic) {
            throw CommandError(
                .configError,
                "streamlearn run: inference.predictions_topic '\(topic)' does not exist; create it "
                    + "(streamlearn topics create \(topic) --partitions N) and start again"
            )
        } catch let error as KafkaError {
            throw kafkaSetupError(error)
        } catch {
            throw CommandError(.failure, "streamlearn run: Failed to start inference: \(error)")
        }
    }

    /// Lets inference score with the model of the checkpoint just written. Checkpoint queue.
    private func replaceScoringModel(_ scorer: ModelSnapshotScorer?, with checkpoint: Checkpoint) {
        guard let scorer else { return }
        do {
            try scorer.replace(
                with: checkpoint.model,
                version: ModelVersion(
                    step: checkpoint.model.optimizer.step,
                    checkpointSequence: checkpoint.sequence
                )
            )
        } catch {
            logger.error(
                "Failed to load checkpoint \(checkpoint.sequence) for inference: \(error); "
                    + "scoring with the previous one"
            )
        }
    }

    // MARK: - Checkpoints

    /// Loads the newest valid checkpoint, or makes a new model when there is none.
    private func loadModel() throws -> (Model, Checkpoint?) {
        let fresh = Model(configuration: configuration.modelConfiguration)
        let expectedShape = fresh.configurationShape
        let result: CheckpointStore.LoadResult?
        do {
            try store.prepareDirectory()
            nextSequence = try store.nextSequence()
            result = try store.loadNewest(expectedShape: options.resetModel ? nil : expectedShape)
        } catch {
            if case .noValidCheckpoint(_, let skipped) = error {
                for file in skipped { logger.error("\(file.error)") }
            }
            var message = "streamlearn run: \(error)"
            if case .shapeMismatch = error { message += "; or start a new model with --reset-model" }
            throw CommandError(error.exitCode, message)
        }
        for file in result?.skipped ?? [] {
            logger.error("\(file.error); skipping it and using an older checkpoint")
        }
        guard let result else {
            logger.notice("No checkpoint in '\(store.directory)': starting a new \(expectedShape) model")
            return (fresh, nil)
        }
        var checkpoint = result.checkpoint
        let model: Model
        if checkpoint.model.shapeDescription != expectedShape {
            // Only with --reset-model: keep the stream positions, start the model afresh.
            logger.warning(
                "Checkpoint '\(result.path)' has \(checkpoint.model.shapeDescription), config says "
                    + "\(expectedShape): starting a new model (--reset-model), continuing from its offsets"
            )
            model = fresh
            checkpoint.metadata = [:]
        } else {
            do {
                model = try Model(state: checkpoint.model)
            } catch {
                throw CommandError(
                    .dataError,
                    "streamlearn run: Failed to load checkpoint '\(result.path)': \(error)"
                )
            }
            logger.notice(
                "Loaded checkpoint '\(result.path)': model step \(model.step), "
                    + "\(checkpoint.metadata[TrainingLoop.recordsTrainedKey] ?? "?") records trained, "
                    + "\(checkpoint.offsets.count) partition offsets"
            )
            if let hash = checkpoint.metadata[Checkpoint.MetadataKey.configHash],
                hash != configuration.configurationHash
            {
                logger.notice(
                    "Checkpoint was trained under other model settings (hash \(hash), now "
                        + "\(configuration.configurationHash)); continuing with its weights"
                )
            }
        }
        durableOffsets = checkpoint.offsets
        // A model started afresh by --reset-model differs from the file: write it at once.
        checkpointedVersion = checkpoint.model.shapeDescription == expectedShape ? 0 : -1
        statisticsState.withLock { $0.checkpointSequence = checkpoint.sequence }
        var status = stat()
        if stat(result.path, &status) == 0 {
            checkpointDate.withLock { $0 = Date(timeIntervalSince1970: TimeInterval(status.st_mtim.tv_sec)) }
        }
        return (model, checkpoint)
    }

    /// Writes a checkpoint of the current state unless nothing changed since the last one, then
    /// commits the durable checkpoint's offsets of the partitions currently assigned. Runs on the
    /// checkpoint queue. Returns false when the write or the commit failed (logged; the next
    /// interval retries).
    private func checkpointAndCommit(reason: String) -> Bool {
        dispatchPrecondition(condition: .onQueue(checkpointQueue))
        guard let session else { return false }
        let sequence = nextSequence
        let metadata = checkpointMetadata()
        let (checkpoint, version) = trainingQueue.sync {
            (session.loop.checkpoint(sequence: sequence, metadata: metadata), session.loop.version)
        }
        if version != checkpointedVersion {
            // Every bad record this checkpoint covers was handed to the publisher before the
            // snapshot; their copies go out before the checkpoint moves past them.
            flushDeadLetters(session.deadLetters, timeout: .seconds(5))
            logger.debug("Writing checkpoint \(sequence)", ["reason": reason])
            let path: String
            do {
                path = try store.write(checkpoint)
            } catch {
                failedCheckpointWrites += 1
                statisticsState.withLock { $0.checkpointFailures += 1 }
                reportCheckpointFailure(error, reason: reason)
                return false
            }
            noteDurable(checkpoint, version: version)
            replaceScoringModel(session.scorer, with: checkpoint)
            // Logged once inference scores with it too: from this line on, records that come
            // in are predicted by this checkpoint's model.
            let fields = ["path": path, "reason": reason, "step": String(checkpoint.model.optimizer.step)]
            if failedCheckpointWrites > 0 {
                logger.notice("Wrote checkpoint \(sequence) after \(failedCheckpointWrites) failed attempts", fields)
            } else {
                logger.info("Wrote checkpoint \(sequence)", fields)
            }
            failedCheckpointWrites = 0
        }
        return commitDurableOffsets(session.consumer)
    }

    /// Records that `checkpoint`, which holds the training loop's state at `version`, is on
    /// disk: the next sequence, the offsets that may be committed, its age and the counters.
    /// Checkpoint queue (or before its timer starts).
    private func noteDurable(_ checkpoint: Checkpoint, version: Int64) {
        nextSequence = checkpoint.sequence + 1
        checkpointedVersion = version
        durableOffsets = checkpoint.offsets
        checkpointDate.withLock { $0 = Date() }
        statisticsState.withLock {
            $0.checkpointSequence = checkpoint.sequence
            $0.checkpointsWritten += 1
        }
    }

    /// Logs a failed checkpoint write: every one at shutdown or revoke, where it decides what a
    /// successor learns again; on the interval at a bounded rate (a full disk fails each time).
    /// Checkpoint queue.
    private func reportCheckpointFailure(_ error: any Error, reason: String) {
        let durable =
            statisticsState.withLock { $0.checkpointSequence }.map { "checkpoint \($0)" } ?? "no checkpoint"
        guard reason == "interval" else {
            logger.error(
                "\(error); offsets stay at \(durable), so the records trained since will be learned again "
                    + "after a restart"
            )
            return
        }
        guard let suppressed = checkpointErrorLog.admit() else { return }
        let more = suppressed > 0 ? " (\(suppressed) failures not shown)" : ""
        logger.error(
            "\(error); training continues, offsets stay at \(durable), retrying at the next checkpoint\(more)"
        )
    }

    /// Commits the offsets of the newest durable checkpoint for the assigned partitions only:
    /// committing others would overwrite the progress of the member that owns them.
    private func commitDurableOffsets(_ consumer: KafkaConsumer) -> Bool {
        do {
            let assigned = try consumer.assignment()
            let offsets = assigned.compactMap { partition -> KafkaTopicPartitionOffset? in
                let key = TopicPartition(topic: partition.topic, partition: partition.partition)
                return durableOffsets[key].map { KafkaTopicPartitionOffset(partition, offset: $0) }
            }
            try consumer.commit(offsets)
            return true
        } catch {
            kafkaErrorCount.add(1, ordering: .relaxed)
            logger.warning("\(error); the checkpoint holds them, retrying at the next checkpoint")
            return false
        }
    }

    private func checkpointMetadata() -> [String: String] {
        [
            Checkpoint.MetadataKey.configHash: configuration.configurationHash,
            Checkpoint.MetadataKey.createdAt: MetricsReport.timestampText(Date()),
            Checkpoint.MetadataKey.writerVersion: streamLearnVersion,
            Checkpoint.MetadataKey.instance: configuration.instance,
        ]
    }

    // MARK: - Metrics

    /// Builds the interval's report, publishes it to the metrics topic (if any), the log and
    /// STATUS=. Runs on the control queue.
    private func reportMetrics() {
        dispatchPrecondition(condition: .onQueue(controlQueue))
        guard let session else { return }
        ProcessMemory.releaseFreePages()
        let now = ContinuousClock.now
        // Copies confirmed first, records counted after: a copy is confirmed only after its
        // record was counted, so the message never shows more dead letters than bad records.
        let deadLettered = Int64(session.deadLetters.counts.delivered)
        let sample = trainingQueue.sync { session.loop.takeMetricsSample() }
        let elapsed = Self.seconds(now - lastMetricsInstant)
        let rate = elapsed > 0 ? Double(sample.recordsTrained - lastMetricsRecords) / elapsed : 0
        lastMetricsInstant = now
        lastMetricsRecords = sample.recordsTrained

        let assigned = (try? session.consumer.assignment()) ?? []
        let nextOffsets = Dictionary(sample.nextOffsets, uniquingKeysWith: { first, _ in first })
        let lag = assigned.map { partition -> (TopicPartition, Int64?) in
            let key = TopicPartition(topic: partition.topic, partition: partition.partition)
            let watermarks = session.consumer.cachedWatermarks(
                topic: partition.topic,
                partition: partition.partition
            )
            guard let high = watermarks?.high, let next = nextOffsets[key] else { return (key, nil) }
            return (key, max(0, high - next))
        }
        let statistics = self.statistics
        let report = MetricsReport(
            timestamp: Date(),
            instance: configuration.instance,
            uptime: Self.seconds(now - startedAt),
            modelStep: sample.modelStep,
            modelRecords: statistics.recordsTrainedByModel,
            recordsTrained: sample.recordsTrained,
            recordsPerSecond: rate,
            loss: sample.intervalLoss,
            accuracy: sample.intervalAccuracy,
            auc: sample.auc,
            totalLoss: sample.totalLoss,
            totalAccuracy: sample.totalAccuracy,
            duplicatesSkipped: sample.duplicatesSkipped,
            inference: session.inference.map { service in
                var figures = service.metrics.snapshot()
                let totals = service.metrics.totals
                figures.records = totals.records
                figures.predictions = totals.predictions
                figures.badRecords = totals.badRecords
                figures.alreadyPredicted = totals.alreadyPredicted
                return figures
            },
            lag: lag,
            badRecords: sample.badRecords,
            deadLettered: deadLettered,
            checkpointSequence: statistics.checkpointSequence,
            checkpointAge: checkpointDate.withLock { $0 }.map { max(0, Date().timeIntervalSince($0)) },
            checkpointFailures: statistics.checkpointFailures,
            kafkaErrors: kafkaErrorCount.load(ordering: .relaxed),
            residentBytes: MetricsReport.residentBytes()
        )
        statisticsState.withLock {
            $0.loss = sample.intervalLoss
            $0.accuracy = sample.intervalAccuracy
            $0.auc = sample.auc
            $0.recordsPerSecond = rate
        }
        if let topic = configuration.metrics.topic {
            do {
                try session.producer.send(
                    topic: topic,
                    key: Array(configuration.instance.utf8),
                    value: Array(report.json.utf8)
                )
            } catch {
                logger.warning("Failed to publish metrics to '\(topic)': \(error), ignoring")
            }
            _ = session.producer.poll(timeout: .zero)
        }
        logger.info(report.summary)
        notify("STATUS") { try $0.status(report.summary) }
    }

    /// Copies the loop's counters into `statistics`. Training queue.
    private func publishStatistics(_ loop: TrainingLoop) {
        statisticsState.withLock {
            $0.recordsTrained = loop.recordsTrained
            $0.recordsScored = loop.recordsTrained
            $0.badRecords = loop.badRecords
            $0.modelStep = loop.model.step
            $0.recordsTrainedByModel = loop.model.recordsTrained
        }
    }

    // MARK: - Dead letters and Kafka errors

    /// Waits up to `timeout` for the dead-letter copies handed over so far. A failure is
    /// logged, not fatal: training must not stop because the dead-letter topic is unreachable,
    /// and the copies stay counted as undelivered (docs/predictions.md).
    private func flushDeadLetters(_ deadLetters: DeadLetterPublisher, timeout: Duration) {
        guard deadLetters.topic != nil, deadLetters.outstandingCount > 0 else { return }
        do {
            try deadLetters.flush(timeout: timeout)
        } catch {
            logger.warning(
                "\(deadLetters.outstandingCount) dead letters are not delivered to "
                    + "'\(deadLetters.topic ?? "")' yet: \(error); continuing"
            )
        }
    }

    private func countKafkaError(_ error: any Error) {
        kafkaErrorCount.add(1, ordering: .relaxed)
        guard let suppressed = kafkaErrorLog.admit() else { return }
        let more = suppressed > 0 ? " (\(suppressed) similar not shown)" : ""
        logger.warning("Kafka: \(error)\(more)")
    }

    /// librdkafka's warnings and errors, at a bounded rate (a broker that is down makes it
    /// repeat itself at every reconnect).
    private func kafkaLogHandler() -> KafkaLogHandler {
        let logger = logger
        let limiter = SharedLogThrottle(burst: 5, period: .seconds(30))
        return { level, facility, message in
            guard level <= Int32(LogLevel.warning.rawValue) else { return }
            // The inference producer sets enable.gapless.guarantee on purpose (a gap would make
            // the resume scan skip records); librdkafka's note that it is experimental is noise.
            if facility == "CONFWARN" && message.contains("enable.gapless.guarantee") { return }
            guard let suppressed = limiter.admit() else { return }
            let more = suppressed > 0 ? " (\(suppressed) lines not shown)" : ""
            logger.log(
                LogLevel(rawValue: Int(level)) ?? .warning,
                "librdkafka: \(message)\(more)",
                ["facility": facility]
            )
        }
    }

    // MARK: - Kafka set-up

    /// Defaults the daemon sets unless the "kafka" section does: start new groups at the
    /// beginning of the topics, and bound librdkafka's prefetch queues so that memory stays
    /// bounded however far behind the group is.
    ///
    /// For a group consumer, librdkafka checks queued.max.messages.kbytes (key and value bytes)
    /// against its one consumer queue, which all partitions feed, not per partition
    /// (CONFIGURATION.md; `debug=fetch` shows the same "N/M kb queued" for every partition).
    /// A queued record costs several times its payload in RSS (librdkafka's op and message
    /// structures), and a fetch response comes on top, so the daemon bounds the queue
    /// at `prefetchBudgetKilobytes` and a response at 1 MiB (256 KiB per partition; a larger
    /// record batch still comes whole). A fetcher that stopped at the bound is woken by
    /// `KafkaPrefetchMonitor` before the queue runs dry, instead of up to a second later.
    /// Measured 2026-12-04 over 300,000 records: at 1 MiB the MLP daemon peaked at
    /// 36.9-37.8 MiB RSS (37.3-40.4 at 1.5 MiB), and `bench pipeline` ran at 130,445-150,888
    /// records/s with the MLP and 910,705-1,057,648 with logistic regression.
    private func consumerConfiguration() -> KafkaConfiguration {
        var result = KafkaConfiguration(
            configuration.kafka.properties.map { KafkaConfiguration.Property(key: $0.key, value: $0.value) }
        ).consumerProperties
        result["group.id"] = configuration.training.groupID
        // librdkafka refuses a fetch.max.bytes below message.max.bytes.
        let messageMaxBytes = result["message.max.bytes"].flatMap(Int.init) ?? 1_000_000
        let defaults: [(String, String)] = [
            ("auto.offset.reset", "earliest"),
            ("queued.max.messages.kbytes", String(Self.prefetchBudgetKilobytes)),
            ("fetch.max.bytes", String(max(1 << 20, messageMaxBytes))),
            ("max.partition.fetch.bytes", String(256 << 10)),
        ]
        for (key, value) in defaults where !result.contains(key) {
            result[key] = value
        }
        return result
    }

    /// The prefetched records librdkafka may hold for all training partitions together, in KiB
    /// of keys and values.
    static let prefetchBudgetKilobytes = 1024

    /// The "kafka" section without consumer-only properties, which librdkafka would warn about.
    private func producerConfiguration() -> KafkaConfiguration {
        var result = KafkaConfiguration(
            configuration.kafka.properties.map { KafkaConfiguration.Property(key: $0.key, value: $0.value) }
        ).producerProperties
        if !result.contains("linger.ms") { result["linger.ms"] = "50" }
        return result
    }

    /// The client properties of the inference loop: the "kafka" section, starting a new group
    /// at the beginning of the topics and with the training consumer's prefetch bounds (see
    /// `consumerConfiguration`) unless it says otherwise.
    private func inferenceConfiguration() -> KafkaConfiguration {
        var result = KafkaConfiguration(
            configuration.kafka.properties.map { KafkaConfiguration.Property(key: $0.key, value: $0.value) }
        )
        let training = consumerConfiguration()
        let inherited = [
            "auto.offset.reset", "queued.max.messages.kbytes", "fetch.max.bytes", "max.partition.fetch.bytes",
        ]
        for key in inherited where !result.contains(key) {
            result[key] = training[key]
        }
        return result
    }

    private func kafkaSetupError(_ error: any Error) -> CommandError {
        if let error = error as? KafkaError, case .invalidProperty = error {
            return CommandError(.configError, "streamlearn run: \(error)")
        }
        return CommandError(.unavailable, "streamlearn run: Failed to set up Kafka clients: \(error)")
    }

    /// Waits until the cluster answers a metadata request (READY=1 needs Kafka metadata in
    /// hand), retrying while no broker answers, and warns about training topics it does not
    /// know yet. Returns false if a stop was requested first.
    private func awaitMetadata(producer: KafkaProducer, watchdog: WatchdogMonitor) -> Bool {
        let admin = KafkaAdmin(sharing: producer)
        while !isStopRequested.load(ordering: .acquiring) {
            watchdog.pollWillBegin()
            defer { watchdog.pollDidEnd() }
            do {
                let metadata = try admin.metadata(timeout: .seconds(1))
                let training = metadata.topics.filter { configuration.training.topics.contains($0.name) }
                let missing = configuration.training.topics.filter { name in
                    !training.contains { $0.name == name }
                }
                if !missing.isEmpty {
                    logger.warning(
                        "Training topics not found yet: \(missing.joined(separator: ", ")); "
                            + "learning starts when they exist"
                    )
                }
                return true
            } catch {
                countKafkaError(error)
            }
        }
        return false
    }

    // MARK: - Timers and systemd

    private func startTimer(
        on queue: DispatchQueue,
        every interval: Duration,
        _ handler: @escaping @Sendable () -> Void
    ) -> any DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let nanoseconds = Int(
            clamping: interval.components.seconds * 1_000_000_000
                + interval.components.attoseconds / 1_000_000_000
        )
        timer.schedule(
            deadline: .now() + .nanoseconds(nanoseconds),
            repeating: .nanoseconds(nanoseconds),
            leeway: .nanoseconds(max(nanoseconds / 20, 1_000_000))
        )
        timer.setEventHandler(handler: handler)
        timer.resume()
        return timer
    }

    /// Starts the WATCHDOG=1 timer at half of WATCHDOG_USEC (or of `options.watchdogInterval`)
    /// when a watchdog is asked for.
    private func startWatchdogTimer(_ watchdog: WatchdogMonitor) throws -> (any DispatchSourceTimer)? {
        var interval = options.watchdogInterval
        if interval == nil, let notifier {
            do {
                interval = try notifier.watchdogInterval
            } catch {
                throw CommandError(.configError, "streamlearn run: \(error)")
            }
        }
        guard let interval else { return nil }
        logger.notice(
            "Watchdog: \(interval) timeout, pinging every \(interval / 2) while the loop progresses"
        )
        let observer = options.watchdogObserver
        return startTimer(on: watchdogQueue, every: interval / 2) { [self] in
            let isPinging = watchdog.shouldPing()
            if isPinging {
                notify("WATCHDOG=1") { try $0.watchdog() }
            } else {
                logger.warning(
                    "The training loop made no progress for \(interval / 2); not pinging the watchdog"
                )
            }
            observer?(isPinging)
        }
    }

    /// Sends one notification if systemd notifications are on; a failure is logged, never fatal.
    private func notify(_ name: String, _ send: (SystemdNotifier) throws -> Void) {
        guard let notifier else { return }
        do {
            try send(notifier)
        } catch {
            logger.warning("Failed to notify systemd (\(name)): \(error), ignoring")
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
