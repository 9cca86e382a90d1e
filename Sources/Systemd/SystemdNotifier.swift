import CSystemd
import Foundation

/// Tells systemd about the service's state through sd_notify(3): readiness, a status line,
/// watchdog keep-alives and shutdown.
///
/// Outside systemd (NOTIFY_SOCKET unset) every call does nothing and succeeds, so callers need
/// no special case. The environment is never modified: child processes and later calls see the
/// same NOTIFY_SOCKET and WATCHDOG_USEC.
///
/// Stateless and thread-safe: libsystemd opens a fresh datagram socket for each message, so any
/// queue may call it. With NotifyAccess=main, messages count only when sent by the main process
/// (any of its threads qualifies).
public struct SystemdNotifier: Sendable {
    /// The longest status line sent, in UTF-8 bytes; longer lines are cut at a character boundary.
    public static let maximumStatusBytes = 1024

    public init() {}

    /// True when NOTIFY_SOCKET is set, that is, when systemd (or a test) listens for messages.
    public var isEnabled: Bool {
        guard let socket = getenv("NOTIFY_SOCKET") else { return false }
        return socket.pointee != 0
    }

    /// The watchdog timeout systemd enforces (WatchdogSec=), or nil when the watchdog is off or
    /// meant for another process (WATCHDOG_PID names a different PID).
    ///
    /// systemd kills the service when no `watchdog()` arrives for this long; sd_watchdog_enabled(3)
    /// advises pinging at half of it.
    /// - Throws: `SystemdError.invalidWatchdogSetting` when WATCHDOG_USEC or WATCHDOG_PID is malformed.
    public var watchdogInterval: Duration? {
        get throws(SystemdError) {
            var microseconds: UInt64 = 0
            let result = sd_watchdog_enabled(0, &microseconds)
            if result < 0 {
                throw .invalidWatchdogSetting(
                    usec: environmentValue("WATCHDOG_USEC"),
                    pid: environmentValue("WATCHDOG_PID"),
                    errno: -result
                )
            }
            guard result > 0, microseconds > 0 else { return nil }
            return .microseconds(Int64(clamping: microseconds))
        }
    }

    /// Sends READY=1: start-up is complete (Type=notify units become "active" now). With a
    /// `status`, STATUS= goes in the same message, so that `systemctl start` returns to a unit
    /// that already shows it.
    public func ready(status: String? = nil) throws(SystemdError) {
        try notify("READY=1" + (status.map { "\nSTATUS=" + Self.statusLine($0) } ?? ""))
    }

    /// Sends STATUS=`text`, the line `systemctl status` shows.
    ///
    /// Newlines and other control characters become spaces, because each line of a notification
    /// is a separate assignment; text beyond `maximumStatusBytes` is dropped.
    public func status(_ text: String) throws(SystemdError) {
        try notify("STATUS=" + Self.statusLine(text))
    }

    /// Sends WATCHDOG=1, the keep-alive. Call it from the work loop's progress, not from an
    /// independent timer, so that a stuck loop stops the pings and gets the service restarted.
    public func watchdog() throws(SystemdError) {
        try notify("WATCHDOG=1")
    }

    /// Sends STOPPING=1: shutdown has begun.
    public func stopping() throws(SystemdError) {
        try notify("STOPPING=1")
    }

    /// Sends RELOADING=1 with the current CLOCK_MONOTONIC time (MONOTONIC_USEC=, which systemd
    /// requires for Type=notify-reload). Send `ready()` again when the reload is done.
    public func reloading() throws(SystemdError) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        try notify("RELOADING=1\nMONOTONIC_USEC=\(microseconds)")
    }

    /// Sends EXTEND_TIMEOUT_USEC=: asks systemd to wait `duration` longer from now before it
    /// considers the current start-up or shutdown timed out (for example, a slow final checkpoint).
    public func extendTimeout(by duration: Duration) throws(SystemdError) {
        let (seconds, attoseconds) = duration.components
        let microseconds = max(0, seconds) * 1_000_000 + max(0, attoseconds) / 1_000_000_000_000
        try notify("EXTEND_TIMEOUT_USEC=\(microseconds)")
    }

    /// Sends `state`, newline-separated VARIABLE=value assignments as sd_notify(3) lists them.
    /// Does nothing when NOTIFY_SOCKET is unset.
    public func notify(_ state: String) throws(SystemdError) {
        let result = sd_notify(0, state)
        if result < 0 {
            throw .notifyFailed(state: state, socket: environmentValue("NOTIFY_SOCKET") ?? "", errno: -result)
        }
    }

    /// `text` made safe for one STATUS= line.
    static func statusLine(_ text: String) -> String {
        var line = ""
        var byteCount = 0
        for character in text {
            let safe: Character =
                character.unicodeScalars.contains { $0.properties.generalCategory == .control }
                ? " " : character
            byteCount += safe.utf8.count
            guard byteCount <= maximumStatusBytes else { break }
            line.append(safe)
        }
        return line
    }

    private func environmentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
