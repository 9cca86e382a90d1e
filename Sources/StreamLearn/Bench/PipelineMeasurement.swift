import Foundation

/// One row of `bench pipeline`: records per second from the first record handed over to the
/// last, with the wall time and the CPU time of the whole process meanwhile.
struct PipelineMeasurement {
    /// "pipeline" or "consume" (DESIGN.md, Benchmarks).
    let benchmark: String
    /// "mlp", "logistic", or "none" for the consume ceiling.
    let model: String
    /// The training batch size; for "consume", the poll size.
    let batch: Int
    /// Records the benchmark covered (all of the topic).
    let records: Int
    /// Records counted after the clock started, and the seconds they took.
    let timedRecords: Int
    let seconds: Double
    /// Process CPU seconds per wall second over the timed part: how many of the cores the
    /// pipeline kept busy (librdkafka's and the embedded broker's threads included).
    let cores: Double

    var recordsPerSecond: Double { seconds > 0 ? Double(timedRecords) / seconds : 0 }

    /// One JSON object, keys as DESIGN.md's "Benchmarks" fixes them, plus the timing's inputs.
    var json: String {
        "{\"benchmark\":\"\(benchmark)\",\"model\":\"\(model)\",\"batch\":\(batch),"
            + "\"records_per_s\":\(DemoFormat.fixed(recordsPerSecond, 1)),\"records\":\(records),"
            + "\"seconds\":\(DemoFormat.fixed(seconds, 3)),\"cores\":\(DemoFormat.fixed(cores, 2))}"
    }
}

/// Times a benchmark from its first progress to its end: wall clock and process CPU time.
struct PipelineClock {
    private let start = ContinuousClock.now
    private let cpuStart = PipelineClock.processCPUSeconds()
    /// Records already done when the clock started; they are not counted.
    private let startCount: Int

    init(startCount: Int) {
        self.startCount = startCount
    }

    /// The measurement for `endCount` records done now.
    func finish(benchmark: String, model: String, batch: Int, endCount: Int, recordCount: Int) -> PipelineMeasurement {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let cpu = Self.processCPUSeconds() - cpuStart
        return PipelineMeasurement(
            benchmark: benchmark,
            model: model,
            batch: batch,
            records: recordCount,
            timedRecords: endCount - startCount,
            seconds: seconds,
            cores: seconds > 0 ? cpu / seconds : 0
        )
    }

    /// User plus system CPU time of every thread of this process.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
