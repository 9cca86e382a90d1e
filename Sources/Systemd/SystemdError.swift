import Foundation

/// Failures talking to systemd. None is fatal to a service: callers log them as warnings.
public enum SystemdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// sd_notify(3) could not deliver `state` to the socket NOTIFY_SOCKET names.
    case notifyFailed(state: String, socket: String, errno: Int32)
    /// WATCHDOG_USEC or WATCHDOG_PID is set but malformed.
    case invalidWatchdogSetting(usec: String?, pid: String?, errno: Int32)

    public var description: String {
        switch self {
        case .notifyFailed(let state, let socket, let code):
            let firstLine = state.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? state
            return "Failed to notify systemd '\(firstLine)' on socket '\(socket)': \(Self.reason(code))"
        case .invalidWatchdogSetting(let usec, let pid, let code):
            let settings = "'WATCHDOG_USEC=\(usec ?? "")' 'WATCHDOG_PID=\(pid ?? "")'"
            return "Failed to parse watchdog settings \(settings): \(Self.reason(code))"
        }
    }

    private static func reason(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
