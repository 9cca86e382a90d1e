import Dispatch
import Foundation
import Locking

/// SIGTERM and SIGINT for the daemon: the first asks for a graceful stop, a second one exits at
/// once, as systemd and a person pressing Ctrl-C twice expect.
///
/// The default actions are replaced by SIG_IGN before the DispatchSource signal sources start,
/// so no signal is lost or fatal from `init` on. `cancel()` stops the sources and restores the
/// default actions.
///
/// Thread-safe: the sources are set in `init` and only cancelled afterwards; handlers run on a
/// private serial queue. That makes `@unchecked Sendable` honest.
final class DaemonSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let signals: [Int32] = [SIGTERM, SIGINT]
    private let receivedCount = Locked(0)

    /// Starts catching the signals; `onFirst` runs (on a private queue) for the first one,
    /// `onSecond` for any later one.
    init(onFirst: @escaping @Sendable (Int32) -> Void, onSecond: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "streamlearn.daemon.signals")
        var sources: [any DispatchSourceSignal] = []
        for number in signals {
            signal(number, SIG_IGN)
            sources.append(DispatchSource.makeSignalSource(signal: number, queue: queue))
        }
        self.sources = sources
        for (index, number) in signals.enumerated() {
            sources[index].setEventHandler { [weak self] in
                guard let self else { return }
                // Signals that arrive close together reach one handler call: `data` counts them.
                let arrived = max(1, Int(self.sources[index].data))
                let before = receivedCount.withLock { count in
                    defer { count += arrived }
                    return count
                }
                if before == 0 { onFirst(number) }
                if before + arrived > 1 { onSecond(number) }
            }
            sources[index].resume()
        }
    }

    /// Stops catching the signals and restores their default actions.
    func cancel() {
        for source in sources { source.cancel() }
        for number in signals { signal(number, SIG_DFL) }
    }
}
