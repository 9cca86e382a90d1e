import Dispatch
import Foundation
import Locking

/// Catches SIGTERM and SIGINT so that a long-running command can stop cleanly.
///
/// The signals' default actions are replaced by SIG_IGN first, then DispatchSource signal
/// sources deliver them on a private queue; so a signal that arrives at any moment after
/// `init` returns is never lost and never kills the process. Create it before announcing
/// readiness. `wait()` blocks the calling thread until the first signal and returns it.
/// The sources are cancelled and the default actions restored by `cancel()`.
///
/// Thread-safe, which is why `@unchecked Sendable` is honest: the sources are set once in
/// `init` and dispatch sources may be cancelled from any thread; the rest is a semaphore and a
/// mutex.
final class ShutdownSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let received = DispatchSemaphore(value: 0)
    private let first = Locked<Int32?>(nil)
    private let signals: [Int32]

    /// Starts catching `signals` (SIGTERM and SIGINT by default).
    init(_ signals: [Int32] = [SIGTERM, SIGINT]) {
        self.signals = signals
        let queue = DispatchQueue(label: "streamlearn.shutdown-signals")
        var sources: [any DispatchSourceSignal] = []
        for number in signals {
            signal(number, SIG_IGN)
            sources.append(DispatchSource.makeSignalSource(signal: number, queue: queue))
        }
        self.sources = sources
        for (source, number) in zip(sources, signals) {
            source.setEventHandler { [weak self] in self?.deliver(number) }
            source.resume()
        }
    }

    /// Blocks until one of the signals arrives, and returns its number.
    func wait() -> Int32 {
        received.wait()
        // Let a second waiter through too.
        received.signal()
        return first.withLock { $0 } ?? 0
    }

    /// Stops catching the signals and restores their default actions.
    func cancel() {
        for source in sources { source.cancel() }
        for number in signals { signal(number, SIG_DFL) }
    }

    /// "SIGTERM", "SIGINT", or the number for others.
    static func name(of number: Int32) -> String {
        switch number {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        default: "signal \(number)"
        }
    }

    private func deliver(_ number: Int32) {
        let isFirst = first.withLock { first in
            guard first == nil else { return false }
            first = number
            return true
        }
        if isFirst { received.signal() }
    }
}
