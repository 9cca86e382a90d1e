import Foundation
import Kafka
import StreamLearnCore

/// `streamlearn bench pipeline`: end-to-end daemon throughput beside raw consumption.
///
/// One run, one process: the embedded broker, a topic preloaded with generated records
/// (lz4, sized so the broker drops none), then, on the same records, a group consumer that only
/// counts them (the ceiling) and the daemon with the default configuration, once with the
/// tutorial's MLP and once with logistic regression, each as a fresh consumer group from the
/// beginning until `Daemon.statistics` shows every record trained.
enum BenchPipelineCommand: Command {
    static let defaultRecordCount = 1_000_000
    static let pollMaxRecords = 1024
    static let trainingBatchSize = 32
    static let topic = "bench-train"
    static let metricsTopic = "streamlearn.metrics"

    static let spec = CommandSpec(
        name: "bench pipeline",
        summary: "end-to-end pipeline throughput",
        usage: "streamlearn bench pipeline [--records N] [--model mlp|logistic|all] [--json]",
        options: [
            .value(
                "records",
                "N",
                help: "records to preload and train on, 10000 to 5000000 (default \(defaultRecordCount))"
            ),
            .value("model", "KIND", help: "mlp, logistic or all (default all)"),
            .flag("json", help: "one JSON object per measurement instead of a table"),
        ],
        discussion: """
            Everything runs in this process: the embedded broker (librdkafka's mock cluster),
            a topic preloaded with N generated SUSY-shaped records (key = label, value = 18
            features as CSV, lz4, enough partitions that the broker keeps them all), and then:

              consume   a group consumer polling \(pollMaxRecords) records at a time and doing
                        nothing with them: librdkafka's ceiling on this machine;
              pipeline  the daemon (config/streamlearn.json's settings: batch \(trainingBatchSize),
                        one epoch per poll, shuffled, prequential scoring, metrics, checkpoints)
                        from the beginning of the topic until it has trained every record.

            Records/s count from the first record handed over to the last, so the consumer
            group's first join (about 3 s on the embedded broker) is left out. CORES is the
            process's CPU time over the wall time meanwhile, the embedded broker's threads
            included; well below 1 for the pipeline means the daemon waited rather than worked.
            Build with -c release to measure.
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        let commandName = "streamlearn bench pipeline"
        let recordCount = try arguments.int("records", default: defaultRecordCount, in: 10_000...5_000_000)
        let kinds: [ModelState.Kind]
        switch arguments.string("model") ?? "all" {
        case "all": kinds = [.mlp, .logistic]
        case "mlp": kinds = [.mlp]
        case "logistic": kinds = [.logistic]
        case let other: throw arguments.usage("option '--model' must be mlp, logistic or all, got '\(other)'")
        }
        let isJSON = arguments.has("json")
        guard arguments.positionals.isEmpty else {
            throw arguments.usage("unexpected argument '\(arguments.positionals[0])'")
        }
        let logger = Logger(label: commandName)
        let kafkaLog = KafkaWarningLog(logger: logger)

        let cluster: MockCluster
        let partitionCount = RecordPreloader.partitionCount(for: recordCount)
        do {
            cluster = try MockCluster(logHandler: kafkaLog.handler)
            try cluster.createTopic(topic, partitions: partitionCount)
            try cluster.createTopic(metricsTopic, partitions: 1)
        } catch {
            throw CommandError(.failure, "\(commandName): Failed to start the embedded broker: \(error)")
        }
        let bootstrap = cluster.bootstrapServers

        if !isJSON {
            print("streamlearn bench pipeline: \(machineDescription()), \(Model.backendDescription)")
            print(
                "Loading \(DemoFormat.grouped(Double(recordCount))) generated records into '\(topic)' "
                    + "(\(partitionCount) partitions, lz4) on the embedded broker..."
            )
            fflush(nil)
        }
        try RecordPreloader.load(
            recordCount: recordCount,
            seed: 42,
            topic: topic,
            partitionCount: partitionCount,
            bootstrapServers: bootstrap,
            logHandler: kafkaLog.handler,
            commandName: commandName
        )

        if !isJSON { print(row("benchmark", "model", "batch", "records/s", "seconds", "cores")) }
        let ceiling = try ConsumeCeiling.measure(
            topic: topic,
            recordCount: recordCount,
            groupID: "bench-consume",
            pollMaxRecords: pollMaxRecords,
            bootstrapServers: bootstrap,
            logHandler: kafkaLog.handler,
            commandName: commandName
        )
        report(ceiling, isJSON: isJSON)
        for kind in kinds {
            let measurement = try measurePipeline(
                kind,
                recordCount: recordCount,
                bootstrapServers: bootstrap,
                commandName: commandName
            )
            report(measurement, isJSON: isJSON)
        }
        withExtendedLifetime(cluster) {}
        return .success
    }

    /// How long the daemon may go without training a record before the run fails: the group
    /// join comes first, so the first record may take longer than the later ones.
    private static let firstRecordTimeout: Duration = .seconds(60)
    private static let stallTimeout: Duration = .seconds(30)

    private static func measurePipeline(
        _ kind: ModelState.Kind,
        recordCount: Int,
        bootstrapServers: String,
        commandName: String
    ) throws -> PipelineMeasurement {
        let directory = try TemporaryDirectory(prefix: "streamlearn-bench", commandName: commandName)
        defer { _ = directory.remove() }
        let configuration = try InProcessDaemonConfiguration(
            bootstrapServers: bootstrapServers,
            trainingTopic: topic,
            groupID: "bench-pipeline-\(kind.name)",
            checkpointDirectory: directory.path,
            metricsTopic: metricsTopic,
            modelKind: kind,
            instance: "streamlearn-bench-\(kind.name)"
        ).make(commandName: commandName)
        let daemon = try BackgroundDaemon(configuration: configuration)
        daemon.start()

        var clock: PipelineClock?
        var measurement: PipelineMeasurement?
        var lastCount: Int64 = 0
        var lastProgress = ContinuousClock.now
        var failure: String?
        while measurement == nil && failure == nil {
            // Doubles as the pause between looks at the counters.
            if let result = daemon.wait(timeout: .milliseconds(2)) {
                failure = "the daemon stopped before training every record: \(describe(result))"
                break
            }
            let trained = daemon.statistics.recordsTrained
            if trained > lastCount {
                lastCount = trained
                lastProgress = .now
                if clock == nil { clock = PipelineClock(startCount: Int(trained)) }
            }
            if trained >= Int64(recordCount), let clock {
                measurement = clock.finish(
                    benchmark: "pipeline",
                    model: kind.name,
                    batch: trainingBatchSize,
                    endCount: Int(trained),
                    recordCount: recordCount
                )
            } else if ContinuousClock.now - lastProgress > (clock == nil ? firstRecordTimeout : stallTimeout) {
                failure =
                    "the daemon trained \(trained) of \(recordCount) records and then none for "
                    + "\(clock == nil ? firstRecordTimeout : stallTimeout)"
            }
        }

        let stopped = daemon.stop(timeout: .seconds(60))
        if let failure { throw CommandError(.failure, "\(commandName) (\(kind.name)): \(failure)") }
        guard let stopped else {
            throw CommandError(.failure, "\(commandName) (\(kind.name)): the daemon did not stop within 60 s")
        }
        guard case .success(.success) = stopped else {
            throw CommandError(.failure, "\(commandName) (\(kind.name)): the daemon failed: \(describe(stopped))")
        }
        let statistics = daemon.statistics
        guard statistics.badRecords == 0, statistics.recordsTrained == Int64(recordCount) else {
            throw CommandError(
                .failure,
                "\(commandName) (\(kind.name)): the daemon trained \(statistics.recordsTrained) records and refused "
                    + "\(statistics.badRecords) of the \(recordCount) loaded"
            )
        }
        return measurement!
    }

    private static func describe(_ result: Result<ExitCode, any Error>) -> String {
        switch result {
        case .success(let code): "exit status \(code.rawValue)"
        case .failure(let error): "\(error)"
        }
    }

    private static func report(_ measurement: PipelineMeasurement, isJSON: Bool) {
        if isJSON {
            print(measurement.json)
        } else {
            print(
                row(
                    measurement.benchmark,
                    measurement.model,
                    String(measurement.batch),
                    DemoFormat.grouped(measurement.recordsPerSecond),
                    DemoFormat.fixed(measurement.seconds, 2),
                    DemoFormat.fixed(measurement.cores, 2)
                )
            )
        }
        fflush(nil)  // each line as it is measured, also into a pipe
    }

    private static func row(_ columns: String...) -> String {
        let widths = [10, 9, 6, 13, 8, 6]
        return zip(columns, widths).enumerated().map { index, pair in
            let (text, width) = pair
            let padding = String(repeating: " ", count: max(width - text.count, 0))
            return index < 2 ? text + padding : padding + text
        }.joined(separator: " ")
    }

    /// "AMD EPYC 7B13, 2 CPUs, 2026-12-03": what a quoted figure needs beside it.
    private static func machineDescription() -> String {
        var model = "unknown CPU"
        if let cpuInfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = cpuInfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let colon = line.firstIndex(of: ":")
        {
            model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        let date = String(
            format: "%04d-%02d-%02d",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday)
        )
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, \(date)"
    }
}
