/// Receives librdkafka's own log lines.
///
/// `level` is a syslog priority (0 emergency ... 7 debug, as sd-daemon(3) numbers them),
/// `facility` librdkafka's short tag ("FAIL", "CONFWARN", "ERROR", ...), `message` the text
/// without a trailing newline. librdkafka calls it from its internal threads, several at once,
/// and from whichever thread polls, so it must be quick and thread-safe; it must not call back
/// into the client that logged. The Kafka layer never prints: without a handler, lines are
/// dropped.
///
/// Besides librdkafka's log lines, client error events (`error_cb`) arrive here with the
/// facility "ERROR", at level 3 when fatal and 4 otherwise, because librdkafka retries them.
public typealias KafkaLogHandler =
    @Sendable (_ level: Int32, _ facility: String, _ message: String) -> Void
