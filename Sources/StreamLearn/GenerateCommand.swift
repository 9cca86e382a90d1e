import Foundation
import StreamLearnCore

/// `streamlearn generate`: SUSY-shaped synthetic rows to stdout.
///
/// Writes through write(2) from one reusable buffer; a reader that goes away (`| head`) ends
/// the command quietly with status 0, as other Unix filters do.
enum GenerateCommand: Command {
    static let defaultRowCount = 100_000
    static let defaultSeed = 42

    static let spec = CommandSpec(
        name: "generate",
        summary: "SUSY-shaped synthetic rows to stdout",
        usage: "streamlearn generate [--rows N] [--seed S] [--drift-at ROW] [--header]",
        options: [
            .value("rows", short: "n", "N", help: "rows to write (default \(defaultRowCount))"),
            .value("seed", "S", help: "seed; the same seed writes the same rows (default \(defaultSeed))"),
            .value(
                "drift-at",
                "ROW",
                help: "rows from ROW on (0-based) follow a drifted concept (default: no drift)"
            ),
            .flag("header", help: "first write a line of column names (default: none, like SUSY.csv)"),
        ],
        discussion: """
            Each line is a label (1 signal, 0 background) and 18 features, comma-separated, as in
            the UCI SUSY data: 8 measured (lepton 1 pT, eta, phi; lepton 2 pT, eta, phi; missing
            energy magnitude, phi) and 10 derived from them (MET_rel, axial MET, M_R, M_TR_2, R,
            MT2, S_R, M_Delta_R, dPhi_r_b, cos(theta_r1)). About 46% of rows are signal. The best
            achievable accuracy is about 80%; logistic regression reaches about 76%. With
            --drift-at, the signal's missing energy halves and its leptons harden from that row
            on, so a model trained on earlier rows loses accuracy. docs/generator.md describes
            the process and the measured figures.

            Example: streamlearn generate --rows 1000000 --seed 7 | gzip > synthetic.csv.gz
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        let rowCount = try arguments.int("rows", default: defaultRowCount, in: 0...Int.max)
        let seed = try arguments.int("seed", default: defaultSeed, in: 0...Int.max)
        let driftRow: Int? =
            arguments.string("drift-at") == nil
            ? nil : try arguments.int("drift-at", default: 0, in: 0...Int.max)
        guard arguments.positionals.isEmpty else {
            throw arguments.usage("unexpected argument '\(arguments.positionals[0])'")
        }

        // A closed pipe must end the command with status 0, not kill it: EPIPE is handled below.
        signal(SIGPIPE, SIG_IGN)
        var generator = SyntheticSUSY(seed: UInt64(seed), driftRow: driftRow)
        let output = StandardOutputBuffer(capacity: 256 * 1024)
        defer { output.deallocate() }
        do {
            if arguments.has("header") {
                try output.append(SyntheticSUSY.columnNames.joined(separator: ",") + "\n")
            }
            for _ in 0..<rowCount {
                try output.reserve(SyntheticSUSY.maximumCSVRowLength)
                output.count += generator.nextCSVRow(into: output.end)
            }
            try output.flush()
        } catch StandardOutputBuffer.WriteError.readerClosed {
            return .success
        } catch StandardOutputBuffer.WriteError.failed(let code) {
            let reason = String(cString: strerror(code))
            throw CommandError(.ioError, "streamlearn generate: Failed to write standard output: \(reason)")
        }
        return .success
    }
}

/// A byte buffer in front of file descriptor 1, written with write(2) when full.
///
/// Owned by one command run; `deallocate()` frees it without flushing.
private final class StandardOutputBuffer {
    /// Why a write to standard output stopped.
    enum WriteError: Error {
        /// The reader went away (EPIPE): not a failure for a filter.
        case readerClosed
        /// Any other write error, with its errno.
        case failed(Int32)
    }

    let capacity: Int
    let bytes: UnsafeMutablePointer<UInt8>
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        bytes = .allocate(capacity: capacity)
    }

    /// Where the next byte goes.
    var end: UnsafeMutablePointer<UInt8> { bytes + count }

    func deallocate() { bytes.deallocate() }

    /// Makes room for `length` more bytes, flushing if needed; `length` must fit the capacity.
    func reserve(_ length: Int) throws(WriteError) {
        if capacity - count < length { try flush() }
    }

    /// Appends `text` (shorter than the capacity).
    func append(_ text: String) throws(WriteError) {
        let utf8 = Array(text.utf8)
        try reserve(utf8.count)
        for byte in utf8 {
            bytes[count] = byte
            count += 1
        }
    }

    /// Writes out everything buffered, retrying short writes and EINTR.
    func flush() throws(WriteError) {
        var written = 0
        while written < count {
            let result = write(STDOUT_FILENO, bytes + written, count - written)
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                throw code == EPIPE ? .readerClosed : .failed(code)
            }
            written += result
        }
        count = 0
    }
}
