import Foundation

/// Prints `train`'s progress: one line per epoch with records, loss, accuracy, seconds and
/// records per second, and on a terminal a progress bar that the epoch's line then replaces.
///
/// Plain output (a pipe or file) gets the epoch lines only, so logs and tests read one line per
/// epoch, like Keras' `verbose=2`. The bar is redrawn at most every 100 ms, so drawing costs
/// nothing measurable. Not thread-safe: used by the training loop only.
final class EpochReporter {
    let epochCount: Int
    let isTerminal: Bool
    private let write: (String) -> Void
    private let clock = ContinuousClock()
    private var epoch = 0
    private var expectedRecords = 0
    private var epochStart: ContinuousClock.Instant
    private var lastDrawn: ContinuousClock.Instant

    /// Width of the bar between the brackets, in characters.
    private static let barWidth = 30

    /// A reporter for `epochCount` epochs; `write` receives text to print as it is (lines end
    /// with "\n"; bar redraws start with "\r").
    init(epochCount: Int, isTerminal: Bool, write: @escaping (String) -> Void) {
        self.epochCount = epochCount
        self.isTerminal = isTerminal
        self.write = write
        epochStart = clock.now
        lastDrawn = clock.now
    }

    /// Starts timing epoch `epoch` (from 1), which should see about `expectedRecords` records.
    func beginEpoch(_ epoch: Int, expectedRecords: Int) {
        self.epoch = epoch
        self.expectedRecords = expectedRecords
        epochStart = clock.now
        lastDrawn = epochStart
        if isTerminal { draw(records: 0, loss: nil, accuracy: nil) }
    }

    /// Redraws the bar, at most every 100 ms; does nothing on plain output.
    func progress(records: Int, loss: Double, accuracy: Double) {
        guard isTerminal else { return }
        let now = clock.now
        guard now - lastDrawn >= .milliseconds(100) else { return }
        lastDrawn = now
        draw(records: records, loss: records > 0 ? loss : nil, accuracy: records > 0 ? accuracy : nil)
    }

    /// Ends the epoch and prints its line; returns the seconds it took.
    ///
    /// `skipped` is the number of undecodable records passed over in the epoch.
    @discardableResult
    func endEpoch(records: Int, loss: Double, accuracy: Double, skipped: Int) -> Double {
        let seconds = Self.seconds(clock.now - epochStart)
        var line = Self.epochLine(
            epoch: epoch,
            of: epochCount,
            records: records,
            loss: loss,
            accuracy: accuracy,
            seconds: seconds
        )
        if skipped > 0 { line += ", \(skipped) undecodable skipped" }
        // On a terminal the line replaces the bar: return, clear to the end of the line.
        write((isTerminal ? "\r\u{1B}[K" : "") + line + "\n")
        return seconds
    }

    /// "epoch 3/10: 60000 records, loss 0.4512, accuracy 0.7911, 0.84 s, 71429 records/s".
    static func epochLine(
        epoch: Int,
        of epochCount: Int,
        records: Int,
        loss: Double,
        accuracy: Double,
        seconds: Double
    ) -> String {
        "epoch \(epoch)/\(epochCount): \(records) records, loss \(fixed(loss, 4)), "
            + "accuracy \(fixed(accuracy, 4)), \(fixed(seconds, 2)) s, \(rate(records, seconds)) records/s"
    }

    private func draw(records: Int, loss: Double?, accuracy: Double?) {
        let fraction = expectedRecords > 0 ? min(1, Double(records) / Double(expectedRecords)) : 0
        let filled = Int(fraction * Double(Self.barWidth))
        var bar = String(repeating: "=", count: filled)
        if filled < Self.barWidth {
            bar += ">" + String(repeating: ".", count: Self.barWidth - filled - 1)
        }
        var text = "\r\u{1B}[Kepoch \(epoch)/\(epochCount) [\(bar)] \(records)/\(expectedRecords)"
        if let loss, let accuracy {
            text += " loss \(Self.fixed(loss, 4)) accuracy \(Self.fixed(accuracy, 4))"
        }
        write(text)
    }

    /// `value` with `digits` decimals ("0.4817"); "nan" for NaN.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }

    /// Records per second as a whole number; 0 when no time passed.
    static func rate(_ records: Int, _ seconds: Double) -> Int {
        seconds > 0 ? Int((Double(records) / seconds).rounded()) : 0
    }

    /// A Duration in seconds.
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
