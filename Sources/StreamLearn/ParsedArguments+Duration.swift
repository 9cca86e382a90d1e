import Foundation
import StreamLearnCore

extension ParsedArguments {
    /// A duration option such as `--timeout 30s`, within `range`, or `defaultValue` when absent.
    ///
    /// Accepts a decimal number with a unit, `ms`, `s`, `m` or `h` (`500ms`, `2.5s`, `2m`), or a
    /// bare number of seconds; throws a usage error naming the option otherwise.
    func duration(
        _ name: String,
        default defaultValue: Duration,
        in range: ClosedRange<Duration>
    ) throws -> Duration {
        guard let text = string(name) else { return defaultValue }
        guard let value = Self.parseDuration(text), range.contains(value) else {
            throw usage(
                "option '--\(name)' must be a duration from \(KafkaCommandContext.describe(range.lowerBound)) "
                    + "to \(KafkaCommandContext.describe(range.upperBound)) such as 500ms, 30s or 2m, got '\(text)'"
            )
        }
        return value
    }

    /// Parses "500ms", "2.5s", "2m", "1h" or "10" (seconds); nil for anything else.
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(text)
        var scale = 1.0
        // "ms" before "m" and "s", so that the longest suffix wins.
        if let unit = units.first(where: { text.hasSuffix($0.suffix) }) {
            number = text.dropLast(unit.suffix.count)
            scale = unit.seconds
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let milliseconds = (value * scale * 1000).rounded()
        guard milliseconds <= Double(Int64.max / 2) else { return nil }
        return .milliseconds(Int64(milliseconds))
    }
}
