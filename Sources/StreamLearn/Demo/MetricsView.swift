import Foundation

/// The demo's live view of the daemon's metrics on standard output.
///
/// On a terminal it redraws a block in place: a table of the newest `visibleRows` metrics
/// messages and a status line about the producer, each line cut to the terminal's width (a
/// wrapped line would throw off the redraw). Anywhere else (a pipe, a file, a test) it
/// prints each metrics message as one line, after a header line, and no escape codes.
/// Owned by the demo's main thread.
final class MetricsView {
    /// One row of the table (the loss is left to the summary, to keep the table narrow).
    struct Row {
        var seconds: Double?
        var produced: Int
        var trained: Double?
        var recordsPerSecond: Double?
        var lag: Double?
        var accuracy: Double?
        var auc: Double?
        var checkpoint: Double?
        /// Inference: predictions made since start, accuracy over the interval.
        var predictions: Double?
        var inferenceAccuracy: Double?
        /// Bad records of both streams since start, and the copies dead-lettered.
        var badRecords: Double?
        var deadLettered: Double?
        var note: String
    }

    let isTerminal: Bool
    private let visibleRows: Int
    private var rows: [Row] = []
    private var drawnLineCount = 0
    private var isHeaderPrinted = false

    init(isTerminal: Bool = isatty(STDOUT_FILENO) == 1, visibleRows: Int = 12) {
        self.isTerminal = isTerminal
        self.visibleRows = visibleRows
    }

    /// Up to DLQ the table fits 80 columns; the rate and the checkpoint come after, for wider
    /// terminals.
    private static let columns: [(title: String, width: Int)] = [
        ("TIME", 4), ("PRODUCED", 9), ("TRAINED", 9), ("LAG", 7), ("ACC", 5), ("AUC", 5),
        ("PREDICTED", 9), ("INF.ACC", 7), ("BAD", 4), ("DLQ", 4), ("REC/S", 6), ("CKPT", 4),
        ("NOTE", 0),
    ]

    /// Adds a metrics row: printed at once off a terminal, drawn at the next `redraw` on one.
    func append(_ row: Row, status: String) {
        if isTerminal {
            rows.append(row)
            if rows.count > visibleRows { rows.removeFirst(rows.count - visibleRows) }
            redraw(status: status)
        } else {
            if !isHeaderPrinted {
                write(Self.line(Self.columns.map(\.title)) + "\n")
                isHeaderPrinted = true
            }
            write(Self.line(Self.cells(of: row)) + "\n")
        }
    }

    /// Redraws the block with a new status line; does nothing off a terminal.
    func redraw(status: String) {
        guard isTerminal else { return }
        var text = drawnLineCount > 0 ? "\u{1B}[\(drawnLineCount)A\r\u{1B}[J" : ""
        var lines = [Self.line(Self.columns.map(\.title))]
        lines += rows.map { Self.line(Self.cells(of: $0)) }
        lines.append(status)
        let width = Self.terminalWidth()
        text += lines.map { width.map($0.prefix) ?? Substring($0) }.joined(separator: "\n") + "\n"
        drawnLineCount = lines.count
        write(text)
    }

    /// Prints a line of text below the view (off a terminal: as is).
    func note(_ text: String) {
        if isTerminal && drawnLineCount > 0 {
            // The note goes above the next redraw: forget the block so it is not erased.
            drawnLineCount = 0
        }
        write(text + "\n")
    }

    private static func cells(of row: Row) -> [String] {
        [
            row.seconds.map { "\(Int($0.rounded()))s" } ?? "-",
            DemoFormat.grouped(Double(row.produced)),
            row.trained.map(DemoFormat.grouped) ?? "-",
            row.lag.map(DemoFormat.grouped) ?? "-",
            DemoFormat.fixed(row.accuracy, 3),
            DemoFormat.fixed(row.auc, 3),
            row.predictions.map(DemoFormat.grouped) ?? "-",
            DemoFormat.fixed(row.inferenceAccuracy, 3),
            row.badRecords.map(DemoFormat.grouped) ?? "-",
            row.deadLettered.map(DemoFormat.grouped) ?? "-",
            row.recordsPerSecond.map(DemoFormat.grouped) ?? "-",
            row.checkpoint.map { String(Int($0)) } ?? "-",
            row.note,
        ]
    }

    private static func line(_ cells: [String]) -> String {
        var text = ""
        for (index, cell) in cells.enumerated() {
            let width = columns[index].width
            if index == cells.count - 1 {
                text += cell
            } else if index == 0 {
                text += cell + String(repeating: " ", count: max(width - cell.count, 0)) + " "
            } else {
                text += String(repeating: " ", count: max(width - cell.count, 0)) + cell + "  "
            }
        }
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }

    /// Columns of the terminal on standard output, nil when unknown.
    private static func terminalWidth() -> Int? {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                // A reader that went away (EPIPE, SIGPIPE ignored) just stops seeing the view.
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// Number formats shared by the demo's view and summary, and by `bench pipeline`.
enum DemoFormat {
    /// 1234567.8 -> "1,234,568".
    static func grouped(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let rounded = Int(value.rounded())
        let digits = String(abs(rounded))
        var result = rounded < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }

    /// `value` with `places` decimals ("0.781"), or "-" when unknown.
    static func fixed(_ value: Double?, _ places: Int) -> String {
        guard let value, value.isFinite else { return "-" }
        return String(format: "%.\(places)f", value)
    }
}
