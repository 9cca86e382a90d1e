import Dispatch
import Foundation
import Synchronization

/// SIGINT and SIGTERM for a command that polls: the first one sets `isRaised` (the command
/// finishes early and still prints its summary), a second one exits at once with status
/// 128 + signal number, as an impatient user expects.
///
/// The default actions are replaced by SIG_IGN before the DispatchSource signal sources start,
/// so no signal is lost or fatal after `init`. Thread-safe: an atomic and sources that may be
/// cancelled from any thread, hence the honest `@unchecked Sendable`.
final class InterruptFlag: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let raised = Atomic<Int32>(0)
    private let signals: [Int32] = [SIGINT, SIGTERM]

    init() {
        let queue = DispatchQueue(label: "streamlearn.interrupt")
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

    /// True once SIGINT or SIGTERM has arrived.
    var isRaised: Bool { raised.load(ordering: .relaxed) != 0 }

    /// The signal that arrived first, or nil.
    var signalNumber: Int32? {
        let number = raised.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// Stops catching the signals and restores their default actions.
    func cancel() {
        for source in sources { source.cancel() }
        for number in signals { signal(number, SIG_DFL) }
    }

    private func deliver(_ number: Int32) {
        let (exchanged, _) = raised.compareExchange(expected: 0, desired: number, ordering: .relaxed)
        if !exchanged {
            // Asked twice: the user does not want to wait for the graceful stop.
            _exit(128 + number)
        }
    }
}
