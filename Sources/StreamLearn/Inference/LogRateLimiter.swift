/// Decides which of a stream of similar log lines are written: at most `limit` per `interval`,
/// plus, once a new interval starts, the count of the lines held back in the one before.
///
/// A value type without locking; its owner serialises access (for example behind a `Mutex`).
struct LogRateLimiter: Sendable {
    /// What to do with one line.
    enum Decision: Equatable {
        /// Write it; `suppressedBefore` lines were held back since the last one written.
        case write(suppressedBefore: Int)
        /// Count it and write nothing.
        case suppress
    }

    let limit: Int
    let interval: Duration
    private var windowStart: ContinuousClock.Instant?
    private var writtenInWindow = 0
    private var suppressed = 0

    /// At most `limit` lines (at least 1) per `interval`.
    init(limit: Int, interval: Duration) {
        precondition(limit >= 1, "a log rate limit lets at least one line through")
        self.limit = limit
        self.interval = interval
    }

    /// Decides for a line that would be written at `now`.
    mutating func admit(now: ContinuousClock.Instant = .now) -> Decision {
        if let start = windowStart, now - start < interval, writtenInWindow >= limit {
            suppressed += 1
            return .suppress
        }
        if windowStart.map({ now - $0 >= interval }) ?? true {
            windowStart = now
            writtenInWindow = 0
        }
        writtenInWindow += 1
        defer { suppressed = 0 }
        return .write(suppressedBefore: suppressed)
    }
}
