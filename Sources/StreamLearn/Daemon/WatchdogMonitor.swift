import Foundation
import Synchronization

/// Decides whether the daemon may send WATCHDOG=1: only while its loop makes progress or waits
/// on Kafka, so that a stuck loop stops the pings and systemd restarts the service.
///
/// The poll loop calls `pollWillBegin()` and `pollDidEnd()` around every poll (progress is a
/// poll that returned, with records or not: while a broker is down, polls time out and return).
/// A timer calls `shouldPing()` at half the watchdog interval; it answers yes when a poll ended
/// since the previous tick, or when a poll is under way and began less than `allowedPollTime`
/// ago. A loop stuck in training, in a checkpoint inside a rebalance callback, or in a poll that
/// librdkafka never returns from, gets no ping.
///
/// Thread-safe: the loop and the timer share only atomics.
final class WatchdogMonitor: Sendable {
    /// How long one poll call may take before the loop counts as stuck: the poll timeout plus
    /// room for a rebalance callback's checkpoint.
    let allowedPollTime: Duration

    private let completedPolls = Atomic<UInt64>(0)
    /// Monotonic nanoseconds at which the current poll began, 0 outside a poll.
    private let pollStartedAt = Atomic<UInt64>(0)
    private let lastSeenPolls = Atomic<UInt64>(0)
    /// True while the daemon shuts down: the shutdown sequence counts as progress.
    private let isShuttingDown = Atomic<Bool>(false)

    init(allowedPollTime: Duration) {
        self.allowedPollTime = allowedPollTime
    }

    /// The poll loop is about to block in librdkafka.
    func pollWillBegin() {
        pollStartedAt.store(Self.monotonicNanoseconds(), ordering: .releasing)
    }

    /// The poll returned.
    func pollDidEnd() {
        pollStartedAt.store(0, ordering: .releasing)
        completedPolls.add(1, ordering: .releasing)
    }

    /// The loop has stopped polling for good and shuts down; pings continue until exit, bounded
    /// by systemd's TimeoutStopSec instead.
    func beginShutdown() {
        isShuttingDown.store(true, ordering: .releasing)
    }

    /// Whether to send WATCHDOG=1 now; called by one timer.
    func shouldPing() -> Bool {
        if isShuttingDown.load(ordering: .acquiring) { return true }
        let completed = completedPolls.load(ordering: .acquiring)
        if lastSeenPolls.exchange(completed, ordering: .acquiringAndReleasing) != completed { return true }
        let startedAt = pollStartedAt.load(ordering: .acquiring)
        guard startedAt != 0 else { return false }
        let elapsed = Self.monotonicNanoseconds() &- startedAt
        return Duration.nanoseconds(Int64(clamping: elapsed)) < allowedPollTime
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
