import StreamLearnCore

/// Loss, accuracy and AUC of `evaluate`, per partition and over all of them, with the records
/// skipped as undecodable and the offsets covered.
///
/// Partitions are numbered from 0, so they index an array that grows when a partition beyond
/// it appears (a topic that gained partitions). Each score is kept for the exact AUC: 8 bytes
/// per record for the partition and 8 for the total. Not thread-safe: one owner.
struct EvaluationTotals {
    /// One partition's figures.
    struct Partition {
        var metrics = BinaryClassificationMetrics()
        var skipped = 0
        /// The first offset evaluated (scored or skipped) in this run, or nil before any.
        var firstOffset: Int64?
        /// One past the last offset evaluated: what was committed.
        var nextOffset: Int64?

        var evaluated: Int { metrics.count + skipped }
    }

    private(set) var partitions: [Partition]
    private(set) var overall = BinaryClassificationMetrics()

    init(partitionCount: Int) {
        partitions = Array(repeating: Partition(), count: max(partitionCount, 0))
    }

    /// Records scored, over all partitions.
    var recordCount: Int { overall.count }

    /// Records skipped as undecodable, over all partitions.
    var skippedCount: Int { partitions.reduce(0) { $0 + $1.skipped } }

    /// Adds one scored record of `partition`.
    @inline(__always)
    mutating func add(logit: Float, label: Float, partition: Int32) {
        let index = Int(partition)
        if index >= partitions.count { grow(to: index + 1) }
        partitions[index].metrics.add(logit: logit, label: label)
        overall.add(logit: logit, label: label)
    }

    /// Counts one undecodable record of `partition`.
    mutating func addSkipped(partition: Int32) {
        let index = Int(partition)
        if index >= partitions.count { grow(to: index + 1) }
        partitions[index].skipped += 1
    }

    /// Notes that `partition` was evaluated up to and including `offset`.
    @inline(__always)
    mutating func noteEvaluated(partition: Int32, offset: Int64) {
        let index = Int(partition)
        if index >= partitions.count { grow(to: index + 1) }
        if partitions[index].firstOffset == nil { partitions[index].firstOffset = offset }
        partitions[index].nextOffset = offset + 1
    }

    private mutating func grow(to count: Int) {
        partitions.append(contentsOf: repeatElement(Partition(), count: count - partitions.count))
    }

    /// The report: one row per partition that had records in this run and an "all" row.
    ///
    /// Columns: PARTITION, RECORDS (scored), SKIPPED (undecodable), LOSS, ACCURACY, AUC,
    /// OFFSETS (first to one past the last evaluated, which is the committed offset).
    func table() -> TextTable {
        var table = TextTable(["PARTITION", "RECORDS", "SKIPPED", "LOSS", "ACCURACY", "AUC", "OFFSETS"])
        for (index, partition) in partitions.enumerated() where partition.evaluated > 0 {
            let offsets = partition.firstOffset.map { "\($0)-\(partition.nextOffset ?? $0)" } ?? "-"
            table.append(
                ["\(index)", "\(partition.metrics.count)", "\(partition.skipped)"]
                    + Self.cells(partition.metrics) + [offsets]
            )
        }
        table.append(["all", "\(overall.count)", "\(skippedCount)"] + Self.cells(overall) + ["-"])
        return table
    }

    /// Loss, accuracy and AUC with four decimals; "-" where undefined (no records, one class).
    private static func cells(_ metrics: BinaryClassificationMetrics) -> [String] {
        [metrics.meanLogLoss, metrics.accuracy, metrics.auc()].map { value in
            value.map { EpochReporter.fixed($0, 4) } ?? "-"
        }
    }
}
