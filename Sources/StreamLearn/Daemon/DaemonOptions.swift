/// How a `Daemon` runs beyond its configuration: the command-line switches of `streamlearn run`
/// and whether it owns the process's signals and systemd channel.
///
/// In-process users (`streamlearn demo`, `streamlearn bench pipeline`, tests) set both
/// `handlesSignals` and `notifiesSystemd` to false and stop the daemon with `requestStop()`.
struct DaemonOptions: Sendable {
    /// `--reset-model`: when the newest checkpoint holds a model of another shape than the
    /// configuration, start a new model (keeping the checkpoint's stream positions) instead of
    /// refusing to start with exit status 78.
    var resetModel = false

    /// Catch SIGTERM and SIGINT: the first one stops the daemon gracefully, a second one exits
    /// at once. False for in-process use.
    var handlesSignals = true

    /// Send READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 through sd_notify(3) (silent anyway
    /// without NOTIFY_SOCKET). False for in-process use.
    var notifiesSystemd = true

    /// The watchdog timeout to honour instead of systemd's WATCHDOG_USEC; the daemon decides
    /// about a ping at half of it. Nil (the default): systemd's setting, if any. For in-process
    /// use, with `watchdogObserver`.
    var watchdogInterval: Duration?

    /// Called on the watchdog queue at every watchdog tick with the decision: true when the
    /// loop made progress (WATCHDOG=1 sent, when notifying systemd), false when it did not.
    var watchdogObserver: (@Sendable (_ isPinging: Bool) -> Void)?

    init(
        resetModel: Bool = false,
        handlesSignals: Bool = true,
        notifiesSystemd: Bool = true,
        watchdogInterval: Duration? = nil,
        watchdogObserver: (@Sendable (_ isPinging: Bool) -> Void)? = nil
    ) {
        self.resetModel = resetModel
        self.handlesSignals = handlesSignals
        self.notifiesSystemd = notifiesSystemd
        self.watchdogInterval = watchdogInterval
        self.watchdogObserver = watchdogObserver
    }
}
