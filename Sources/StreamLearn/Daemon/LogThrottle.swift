import Locking

/// Decides which of a stream of repetitive log lines are written: at most `burst` lines per
/// `period`, and a count of the ones held back, so a flood of bad records or broker reconnects
/// cannot flood the journal.
///
/// A value type without allocation; one owner at a time (the queue that logs).
struct LogThrottle {
    /// Lines allowed per period.
    let burst: Int
    /// Length of one period.
    let period: Duration

    private var periodStart: ContinuousClock.Instant?
    private var writtenInPeriod = 0
    private var suppressed = 0

    init(burst: Int = 5, period: Duration = .seconds(10)) {
        self.burst = burst
        self.period = period
    }

    /// Returns nil when the line must be dropped; otherwise the number of lines dropped since
    /// the last one allowed (0 when none), which the caller mentions in the line it writes.
    mutating func admit(now: ContinuousClock.Instant = .now) -> Int? {
        if let periodStart, now - periodStart < period {
            guard writtenInPeriod < burst else {
                suppressed += 1
                return nil
            }
        } else {
            periodStart = now
            writtenInPeriod = 0
        }
        writtenInPeriod += 1
        defer { suppressed = 0 }
        return suppressed
    }
}

/// A `LogThrottle` behind a lock, for log lines that come from several threads (librdkafka's).
final class SharedLogThrottle: Sendable {
    private let limiter: Locked<LogThrottle>

    init(burst: Int = 5, period: Duration = .seconds(10)) {
        limiter = Locked(LogThrottle(burst: burst, period: period))
    }

    /// See `LogThrottle.admit(now:)`.
    func admit() -> Int? {
        limiter.withLock { $0.admit() }
    }
}
