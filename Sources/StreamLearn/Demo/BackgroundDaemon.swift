import Foundation
import Locking
import StreamLearnCore

/// A `Daemon` running on a thread of its own, for the commands that host one in process
/// (`demo`, `bench pipeline`): no signal handling, no systemd, stopped with `stop`.
///
/// Threads: `start`, `stop` and `wait` from the owning thread; `statistics` and `isFinished`
/// from any. The outcome is behind a mutex and the daemon is thread-safe itself, which makes
/// the class honestly `@unchecked Sendable`.
final class BackgroundDaemon: @unchecked Sendable {
    private let daemon: Daemon
    private let finished = DispatchSemaphore(value: 0)
    private let outcome = Locked<Result<ExitCode, any Error>?>(nil)

    /// Creates the daemon; it touches neither Kafka nor the disk until `start`.
    init(configuration: DaemonConfiguration) throws {
        daemon = try Daemon(
            configuration: configuration,
            options: DaemonOptions(resetModel: false, handlesSignals: false, notifiesSystemd: false)
        )
    }

    /// Runs the daemon on a new thread (8 MiB of stack, as the main thread has).
    func start() {
        let thread = Thread { [self] in
            let result = Result { try daemon.run() }
            outcome.withLock { $0 = result }
            finished.signal()
        }
        thread.name = "streamlearn daemon"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// The daemon's counters now.
    var statistics: DaemonStatistics { daemon.statistics }

    /// How `run` ended, or nil while it runs.
    var result: Result<ExitCode, any Error>? { outcome.withLock { $0 } }

    /// Asks the daemon to stop gracefully (final checkpoint, commit, group leave) and waits up
    /// to `timeout` for `run` to return; nil when it did not return in time.
    func stop(timeout: Duration) -> Result<ExitCode, any Error>? {
        daemon.requestStop()
        return wait(timeout: timeout)
    }

    /// Waits up to `timeout` for `run` to return on its own; nil when it is still running.
    func wait(timeout: Duration) -> Result<ExitCode, any Error>? {
        let nanoseconds =
            timeout.components.seconds * 1_000_000_000
            + timeout.components.attoseconds / 1_000_000_000
        guard finished.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success else { return nil }
        // Let a later wait through as well.
        finished.signal()
        return result
    }
}
