import Foundation

/// Log priority, numbered as syslog and sd-daemon(3) number them.
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case emergency = 0, alert, critical, error, warning, notice, info, debug

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue > rhs.rawValue }

    /// Parses a config or flag value such as "info" or "warning".
    public init?(name: String) {
        switch name.lowercased() {
        case "emerg", "emergency": self = .emergency
        case "alert": self = .alert
        case "crit", "critical": self = .critical
        case "err", "error": self = .error
        case "warn", "warning": self = .warning
        case "notice": self = .notice
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }
}

/// A small logger in the shape of swift-log: a constant message plus structured metadata.
///
/// Lines go to stderr with the sd-daemon `<N>` priority prefix and no timestamp, since journald
/// adds its own. Thread-safe: one `write(2)` per line, so lines from several queues never
/// interleave.
public struct Logger: Sendable {
    /// Where lines go; stderr unless a test captures them.
    public typealias Sink = @Sendable (String) -> Void

    public let label: String
    public var minimumLevel: LogLevel
    private let sink: Sink

    public init(label: String, minimumLevel: LogLevel = .info, sink: Sink? = nil) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.sink = sink ?? Logger.standardError
    }

    /// Writes one line unless `level` is below `minimumLevel`.
    ///
    /// Metadata is rendered as `key=value` pairs in key order; values with spaces are quoted.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ metadata: [String: String] = [:]) {
        guard level >= minimumLevel else { return }
        var line = "<\(level.rawValue)>\(label): \(message())"
        for key in metadata.keys.sorted() {
            let value = metadata[key]!
            let needsQuotes = value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" })
            line +=
                needsQuotes ? " \(key)=\"\(value.replacingOccurrences(of: "\"", with: "\\\""))\"" : " \(key)=\(value)"
        }
        sink(line)
    }

    public func error(_ message: @autoclosure () -> String, _ metadata: [String: String] = [:]) {
        log(.error, message(), metadata)
    }

    public func warning(_ message: @autoclosure () -> String, _ metadata: [String: String] = [:]) {
        log(.warning, message(), metadata)
    }

    public func notice(_ message: @autoclosure () -> String, _ metadata: [String: String] = [:]) {
        log(.notice, message(), metadata)
    }

    public func info(_ message: @autoclosure () -> String, _ metadata: [String: String] = [:]) {
        log(.info, message(), metadata)
    }

    public func debug(_ message: @autoclosure () -> String, _ metadata: [String: String] = [:]) {
        log(.debug, message(), metadata)
    }

    private static let standardError: Sink = { line in
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
