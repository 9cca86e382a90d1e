import Foundation

/// A one-line progress display on standard error, redrawn in place at most four times a
/// second, shown only when standard error is a terminal (nothing at all goes to a pipe, a file
/// or the journal).
///
/// Cheap to call often: `isDue` reads the clock only; the text is built only when a redraw is
/// due. Owned by one thread.
final class ProgressReporter {
    /// Whether anything is drawn; false when standard error is not a terminal.
    let isEnabled: Bool

    private let interval: Duration
    private var nextDraw: ContinuousClock.Instant
    private var isLineDrawn = false

    /// A reporter for standard error; `isEnabled` defaults to whether it is a terminal.
    init(isEnabled: Bool = isatty(STDERR_FILENO) == 1, interval: Duration = .milliseconds(250)) {
        self.isEnabled = isEnabled
        self.interval = interval
        nextDraw = .now + interval
    }

    /// True when enabled and a redraw is due; call `draw` then.
    var isDue: Bool { isEnabled && ContinuousClock.now >= nextDraw }

    /// Replaces the progress line with `text`.
    func draw(_ text: String) {
        guard isEnabled else { return }
        nextDraw = .now + interval
        // Carriage return, text, then erase whatever a longer previous line left.
        write("\r" + text + "\u{1B}[K")
        isLineDrawn = true
    }

    /// Erases the progress line, so that the next output starts on a clean line.
    func clear() {
        guard isEnabled, isLineDrawn else { return }
        write("\r\u{1B}[K")
        isLineDrawn = false
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
