import Dispatch
import Foundation
import Kafka
import StreamLearnCore
import Synchronization

/// Runs an `InferenceService` on a thread of its own, so that the daemon's integration is:
/// `start()` after the service's `start()`, `stop(timeout:)` at shutdown.
///
/// The thread steps the service until stopped. A step that fails with a retriable error is
/// logged and retried after a pause that doubles up to 30 s; a fatal one (the consumer can no
/// longer work) ends the thread and calls `onFatalError`, so the daemon can exit with an error
/// and let systemd restart it. On the way out the thread closes the service (final commit,
/// group leave). Threads: every method may be called from any thread.
public final class InferenceRunner: Sendable {
    private let service: InferenceService
    private let logger: Logger
    private let onFatalError: @Sendable (any Error) -> Void
    private let isStopping = Atomic(false)
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let stepCount = Atomic<Int64>(0)
    private let closeTimeout: Duration

    /// A runner for `service`, which must have been started. `closeTimeout` bounds the final
    /// flush of predictions when the thread closes the service.
    public init(
        service: InferenceService,
        logger: Logger,
        closeTimeout: Duration = .seconds(10),
        onFatalError: @escaping @Sendable (any Error) -> Void = { _ in }
    ) {
        self.service = service
        self.logger = logger
        self.closeTimeout = closeTimeout
        self.onFatalError = onFatalError
    }

    /// Steps completed so far, for a watchdog that wants to see inference make progress.
    public var completedSteps: Int64 { stepCount.load(ordering: .relaxed) }

    /// Starts the thread. Call once.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "streamlearn.inference"
        thread.start()
    }

    /// Stops the loop (interrupting a wait for deliveries; that batch stays uncommitted and is
    /// handled by the delivery mode's rules on the next start), waits up to `timeout` for the
    /// thread to close the service, and returns whether it did.
    @discardableResult
    public func stop(timeout: Duration) -> Bool {
        isStopping.store(true, ordering: .relaxed)
        service.stop()
        wakeUp.signal()
        guard finished.wait(timeout: Self.dispatchTime(after: timeout)) == .success else { return false }
        finished.signal()  // later callers see it finished too
        return true
    }

    private func run() {
        var pause = Duration.milliseconds(500)
        while !isStopping.load(ordering: .relaxed) {
            do {
                try service.step()
                stepCount.add(1, ordering: .relaxed)
                pause = .milliseconds(500)
            } catch InferenceError.stopped {
                break
            } catch let error as KafkaError where error.isFatal {
                logger.error("Failed to run inference: \(error)")
                onFatalError(error)
                break
            } catch {
                logger.warning("Failed to run an inference step: \(error), retrying in \(pause)")
                _ = wakeUp.wait(timeout: Self.dispatchTime(after: pause))
                pause = min(pause * 2, .seconds(30))
            }
        }
        do {
            try service.close(timeout: closeTimeout)
        } catch {
            logger.warning("Failed to close inference cleanly: \(error)")
        }
        finished.signal()
    }

    private static func dispatchTime(after duration: Duration) -> DispatchTime {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + attoseconds / 1_000_000_000
        return .now() + .nanoseconds(Int(clamping: nanoseconds))
    }
}
