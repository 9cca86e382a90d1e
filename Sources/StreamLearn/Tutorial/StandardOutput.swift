import Foundation

/// Writes the tutorial commands' results to standard output, flushed at once, so that a reader
/// on a pipe (a test, `tee`, a CI log) sees each line as soon as it is printed.
///
/// Each call is one write(2) of the whole text (retried on a short write), so lines from
/// different threads never interleave mid-line and nothing waits in a stdio buffer.
enum StandardOutput {
    /// True when standard output is a terminal (progress bars are drawn only then).
    static var isTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

    /// Writes `text` as it is (add "\n" yourself) and flushes.
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // a closed pipe: nothing more can be shown
                }
                offset += written
            }
        }
    }

    /// Writes `text` and a line end, and flushes.
    static func line(_ text: String) {
        write(text + "\n")
    }
}
