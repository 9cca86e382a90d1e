import Kafka
import Locking
import StreamLearnCore

/// librdkafka's warnings and errors for the in-process commands (`demo`, `bench pipeline`):
/// each distinct line once, at most `limit` lines in all, so a broker that goes away cannot
/// flood a terminal that is also showing a live table.
///
/// Thread-safe: librdkafka calls the handler from several of its threads at once.
final class KafkaWarningLog: Sendable {
    private let logger: Logger
    private let limit: Int
    private let seen = Locked<Set<String>>([])

    init(logger: Logger, limit: Int = 64) {
        self.logger = logger
        self.limit = limit
    }

    /// The handler to give to Kafka clients and the mock cluster.
    var handler: KafkaLogHandler {
        { [self] level, facility, message in
            guard level <= Int32(LogLevel.warning.rawValue), isFirst(facility + message) else { return }
            logger.log(LogLevel(rawValue: Int(level)) ?? .warning, "librdkafka: \(message)", ["facility": facility])
        }
    }

    private func isFirst(_ line: String) -> Bool {
        seen.withLock { seen in
            guard seen.count < limit else { return false }
            return seen.insert(line).inserted
        }
    }
}
