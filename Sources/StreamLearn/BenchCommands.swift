import Foundation
import StreamLearnCore

/// `streamlearn bench model|pipeline`.
enum BenchCommands: CommandGroup {
    static let name = "bench"
    static let summary = "measure model and pipeline throughput"
    static let subcommands: [any Command.Type] = [BenchModelCommand.self, BenchPipelineCommand.self]
}

/// `streamlearn bench model`: training and prediction throughput of the models.
///
/// Each measurement builds a fresh model, trains or predicts once to size its scratch, then
/// repeats `fit` (one epoch over 4,096 rows, or one batch if larger, in order, as the daemon
/// fits a poll's worth) or `predict` over random standard normal rows generated up front, for
/// `--seconds`. GFLOP/s
/// counts the matrix products only (a training step of the default MLP is 403,200 FLOPs per
/// record, a forward pass 135,936), so it shows how close the step comes to the BLAS ceiling.
enum BenchModelCommand: Command {
    static let spec = CommandSpec(
        name: "bench model",
        summary: "model training and prediction throughput",
        usage: "streamlearn bench model [--model mlp|logistic|all] [--batch N] [--seconds S] [--json]",
        options: [
            .value("model", "KIND", help: "mlp, logistic or all (default all)"),
            .value(
                "batch",
                "N",
                help: "measure only this batch size, 1 to 65536 (default 32, 64, 256; predict 256, 1024)"
            ),
            .value("seconds", "S", help: "time per measurement, 0.1 to 60 (default 2)"),
            .flag("json", help: "one JSON object per measurement instead of a table"),
        ]
    )

    /// One row of the report.
    private struct Measurement {
        let benchmark: String
        let model: ModelState.Kind
        let batch: Int
        let recordsPerSecond: Double
        let flopsPerRecord: Int
        /// Share of the wall time the measuring thread was on a CPU; well below 1 means other
        /// processes competed for the core and records/s understates the model.
        let cpuShare: Double

        var gigaflopsPerSecond: Double { recordsPerSecond * Double(flopsPerRecord) / 1e9 }

        var json: String {
            "{\"benchmark\":\"\(benchmark)\",\"model\":\"\(model.name)\",\"batch\":\(batch),"
                + "\"records_per_s\":\(fixed(recordsPerSecond, 1)),"
                + "\"gflops\":\(fixed(gigaflopsPerSecond, 3)),"
                + "\"cpu_share\":\(fixed(cpuShare, 3))}"
        }
    }

    private static let defaultTrainingBatches = [32, 64, 256]
    private static let defaultPredictionBatches = [256, 1024]
    private static let minimumRowsPerFit = 4096
    private static let datasetRows = 65_536

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        let kinds: [ModelState.Kind]
        switch arguments.string("model") ?? "all" {
        case "all": kinds = [.mlp, .logistic]
        case "mlp": kinds = [.mlp]
        case "logistic": kinds = [.logistic]
        case let other: throw arguments.usage("option '--model' must be mlp, logistic or all, got '\(other)'")
        }
        let seconds = try arguments.double("seconds", default: 2, in: 0.1...60)
        var trainingBatches = defaultTrainingBatches
        var predictionBatches = defaultPredictionBatches
        if arguments.string("batch") != nil {
            let batch = try arguments.int("batch", default: 32, in: 1...datasetRows)
            trainingBatches = [batch]
            predictionBatches = [batch]
        }
        let isJSON = arguments.has("json")

        let inputCount = ModelConfiguration.tutorial.inputCount
        var generator = RandomGenerator(seed: 2024)
        let features = (0..<(datasetRows * inputCount)).map { _ in Float(generator.nextStandardNormal()) }
        let labels = (0..<datasetRows).map { row in features[row * inputCount] > 0 ? Float(1) : 0 }

        if !isJSON {
            print("streamlearn bench model: \(Model.backendDescription)")
            print(row("benchmark", "model", "batch", "records/s", "GFLOP/s", "cpu"))
        }
        for kind in kinds {
            let configuration = kind == .mlp ? ModelConfiguration.tutorial : .logistic(inputCount: inputCount)
            for batch in trainingBatches {
                let measurement = try measureTraining(
                    configuration,
                    batch: batch,
                    seconds: seconds,
                    features: features,
                    labels: labels
                )
                report(measurement, isJSON: isJSON)
            }
            for batch in predictionBatches {
                let measurement = measurePrediction(
                    configuration,
                    batch: batch,
                    seconds: seconds,
                    features: features
                )
                report(measurement, isJSON: isJSON)
            }
        }
        return .success
    }

    private static func measureTraining(
        _ configuration: ModelConfiguration,
        batch: Int,
        seconds: Double,
        features: [Float],
        labels: [Float]
    ) throws -> Measurement {
        let model = Model(configuration: configuration)
        let inputCount = configuration.inputCount
        let rowsPerFit = max(minimumRowsPerFit, batch)
        let sliceCount = datasetRows / rowsPerFit
        let elapsed = try features.withUnsafeBufferPointer { features in
            try labels.withUnsafeBufferPointer { labels in
                func fitSlice(_ slice: Int) throws {
                    let first = (slice % sliceCount) * rowsPerFit
                    try model.fit(
                        features: UnsafeBufferPointer(
                            rebasing: features[(first * inputCount)...].prefix(rowsPerFit * inputCount)
                        ),
                        labels: UnsafeBufferPointer(rebasing: labels[first..<(first + rowsPerFit)]),
                        batchSize: batch,
                        epochs: 1,
                        shuffle: false
                    )
                }
                try fitSlice(0)
                return try timeRepeatedly(seconds: seconds) { try fitSlice($0) }
            }
        }
        return Measurement(
            benchmark: "model.train",
            model: configuration.kind,
            batch: batch,
            recordsPerSecond: Double(elapsed.repetitions * rowsPerFit) / elapsed.seconds,
            flopsPerRecord: model.trainingFlopsPerRecord,
            cpuShare: elapsed.cpuSeconds / elapsed.seconds
        )
    }

    private static func measurePrediction(
        _ configuration: ModelConfiguration,
        batch: Int,
        seconds: Double,
        features: [Float]
    ) -> Measurement {
        let model = Model(configuration: configuration)
        let inputCount = configuration.inputCount
        let sliceCount = datasetRows / batch
        var scores = [Float](repeating: 0, count: batch)
        let elapsed = features.withUnsafeBufferPointer { features in
            scores.withUnsafeMutableBufferPointer { scores in
                func predictSlice(_ slice: Int) {
                    let first = (slice % sliceCount) * batch * inputCount
                    model.predict(
                        features: UnsafeBufferPointer(
                            rebasing: features[first..<(first + batch * inputCount)]
                        ),
                        into: scores
                    )
                }
                predictSlice(0)
                return timeRepeatedly(seconds: seconds) { predictSlice($0) }
            }
        }
        return Measurement(
            benchmark: "model.predict",
            model: configuration.kind,
            batch: batch,
            recordsPerSecond: Double(elapsed.repetitions * batch) / elapsed.seconds,
            flopsPerRecord: model.predictionFlopsPerRecord,
            cpuShare: elapsed.cpuSeconds / elapsed.seconds
        )
    }

    /// Calls `body` with 0, 1, 2, ... until `seconds` have passed; returns the count, the wall
    /// time and the CPU time of this thread.
    private static func timeRepeatedly(
        seconds: Double,
        _ body: (Int) throws -> Void
    ) rethrows -> (repetitions: Int, seconds: Double, cpuSeconds: Double) {
        let cpuStart = threadCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        let limit = UInt64(seconds * 1e9)
        var repetitions = 0
        var elapsed: UInt64 = 0
        repeat {
            try body(repetitions)
            repetitions += 1
            elapsed = DispatchTime.now().uptimeNanoseconds - start
        } while elapsed < limit
        return (repetitions, Double(elapsed) / 1e9, threadCPUSeconds() - cpuStart)
    }

    private static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private static func report(_ measurement: Measurement, isJSON: Bool) {
        if isJSON {
            print(measurement.json)
        } else {
            print(
                row(
                    measurement.benchmark,
                    measurement.model.name,
                    String(measurement.batch),
                    grouped(measurement.recordsPerSecond),
                    fixed(measurement.gigaflopsPerSecond, 2),
                    fixed(measurement.cpuShare * 100, 0) + "%"
                )
            )
        }
        fflush(nil)  // each line as it is measured, also into a pipe
    }

    private static func row(_ columns: String...) -> String {
        let widths = [14, 9, 6, 13, 9, 5]
        return zip(columns, widths).enumerated().map { index, pair in
            let (text, width) = pair
            let padding = String(repeating: " ", count: max(width - text.count, 0))
            return index < 2 ? text + padding : padding + text
        }.joined(separator: " ")
    }

    /// 123456.7 -> "123,457".
    private static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }
}

/// `value` with `places` decimals, without locale or exponent ("49.83").
private func fixed(_ value: Double, _ places: Int) -> String {
    String(format: "%.\(places)f", value)
}
