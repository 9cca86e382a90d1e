/// How long `evaluate` keeps waiting for new records after the last one, as the tutorial's
/// `stream_timeout` does.
enum StreamTimeout: Equatable, Sendable {
    /// Stop as soon as every assigned partition has reached its end (`0`).
    case atEnd
    /// Stop once no record has arrived for this long.
    case after(Duration)
    /// Never stop on its own (`-1`); SIGINT or SIGTERM ends the run.
    case never

    /// Reads "0", "-1" or a positive duration with a unit ("500ms", "10s", "1.5m", "1h").
    ///
    /// Bare numbers other than 0 and -1 are refused, because the tutorial counts milliseconds
    /// (`stream_timeout=10000`) and the other commands count seconds: the unit says which.
    /// Returns nil for anything else.
    init?(parsing text: String) {
        switch text {
        case "0": self = .atEnd
        case "-1": self = .never
        default:
            guard let last = text.last, last.isLetter, let duration = ParsedArguments.parseDuration(text),
                duration > .zero
            else { return nil }
            self = .after(duration)
        }
    }

    /// "0", "-1" or the duration as a person writes it ("10s").
    var description: String {
        switch self {
        case .atEnd: "0"
        case .never: "-1"
        case .after(let duration): KafkaCommandContext.describe(duration)
        }
    }
}
