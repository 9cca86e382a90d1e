import StreamLearnCore

/// Counts the records that could not be decoded and reports the first few in full.
///
/// Such records are never fed to the model and never stop a run. The first `shownInFull` are
/// logged as warnings with partition, offset, the reason and the offending text; after that
/// one line says that the rest are only counted, and `summary` gives the totals by reason.
/// Not thread-safe: used by one command's loop.
final class UndecodableRecords {
    /// How many records are logged in full.
    static let shownInFull = 5

    /// Undecodable records counted so far.
    private(set) var count = 0

    /// Whether `record` logs (the first few); `train` turns it off after its first epoch,
    /// which already showed the records that every later epoch meets again.
    var isReporting = true

    private let logger: Logger
    private var reported = 0
    private var countsByReason: [String: Int] = [:]

    init(logger: Logger) {
        self.logger = logger
    }

    /// Counts one record that failed with `failure`, and logs it while fewer than
    /// `shownInFull` have been. Allocates only for the records it logs.
    func record(
        _ failure: DecodeFailure,
        topic: String,
        partition: Int32,
        offset: Int64,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?
    ) {
        count += 1
        countsByReason[failure.reason, default: 0] += 1
        guard isReporting, reported <= Self.shownInFull else { return }
        reported += 1
        if reported > Self.shownInFull {
            logger.warning("Further undecodable records are skipped and counted, not shown")
            return
        }
        let text = failure.description(key: key, value: value)
        logger.warning("Failed to decode record '\(topic)'[\(partition)]@\(offset): \(text), skipping")
    }

    /// Forgets the counts (not what was shown), for a new epoch.
    func resetCounts() {
        count = 0
        countsByReason.removeAll(keepingCapacity: true)
    }

    /// "3 undecodable records skipped (bad_label 1, not_a_number 2)", or nil when there were none.
    var summary: String? {
        guard count > 0 else { return nil }
        let reasons = countsByReason.keys.sorted().map { "\($0) \(countsByReason[$0]!)" }.joined(separator: ", ")
        let noun = count == 1 ? "record" : "records"
        return "\(count) undecodable \(noun) skipped (\(reasons))"
    }
}
