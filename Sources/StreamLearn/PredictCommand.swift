import Foundation
import Gzip
import StreamLearnCore

/// `streamlearn predict`: score CSV rows offline, one probability per line.
///
/// Rows are read from a file (plain or gzip, told by its first bytes) or standard input, decoded
/// with the same `RecordDecoder` as the daemon's Kafka records, scored in batches, and printed
/// in input order. The model comes from a checkpoint file, or the newest valid checkpoint of a
/// directory (read-only: safe beside a running daemon).
enum PredictCommand: Command {
    static let spec = CommandSpec(
        name: "predict",
        summary: "score CSV rows offline, one probability per line",
        usage: "streamlearn predict --model MODEL [--input PATH|-] [--label none|first|last|N] [--header]",
        options: [
            .value("model", "MODEL", help: "checkpoint file, or checkpoint directory (its newest valid file)"),
            .value("input", "PATH|-", help: "CSV rows, plain or .gz; '-' is standard input (default)"),
            .value(
                "label",
                "none|first|last|N",
                help: "where a label column is: none (default), first, last, or field N (from 0)"
            ),
            .flag("header", help: "skip the first line (column names)"),
            .value("batch-size", "N", help: "rows scored at once (default 1024)"),
        ],
        discussion: """
            Each line holds the model's input count of numbers, comma separated; spaces around
            fields and CRLF line ends are fine. With --label, the line holds one more field, the
            label (0 or 1), which is checked and skipped: use '--label first' for the output of
            'streamlearn generate' and for the tutorial's SUSY.csv. Output: one probability per
            input row, in order, written with the shortest digits that read back as the same
            32-bit float (0.73105854, 1e-05). A row that cannot be decoded stops the command with
            its line number and the reason (exit 65), after the rows before it were printed.
            Exit status: 0 success, 64 usage, 65 bad input row or damaged checkpoint, 74 I/O error.
            """
    )

    /// The longest input line accepted (bytes, line end excluded).
    static let maximumLineLength = 1 << 20

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        if let extra = arguments.positionals.first { throw arguments.usage("unexpected argument '\(extra)'") }
        let modelPath = try arguments.required("model")
        let inputPath = arguments.string("input") ?? "-"
        let batchSize = try arguments.int("batch-size", default: 1024, in: 1...65_536)

        let model = try loadModel(modelPath)
        let label = try labelSource(arguments.string("label") ?? "none", inputCount: model.inputCount, arguments)
        let decoder = RecordDecoder(featureCount: model.inputCount, label: label, maxValueBytes: maximumLineLength)
        let reader: GzipLineReader
        do {
            reader = try GzipLineReader(path: inputPath, maximumLineLength: maximumLineLength)
        } catch {
            throw CommandError(.ioError, "streamlearn predict: \(error)")
        }

        let scorer = BatchScorer(model: model, decoder: decoder, batchSize: batchSize, inputName: inputPath)
        let skipsHeader = arguments.has("header")
        do {
            try reader.forEachLine { lineNumber, line in
                if skipsHeader && lineNumber == 1 { return }
                try scorer.add(line: line, number: lineNumber)
            }
        } catch let error as GzipError {
            try scorer.flush()
            switch error {
            case .openFailed, .readFailed, .writeFailed, .zlibFailed:
                throw CommandError(.ioError, "streamlearn predict: \(error)")
            case .truncated, .corrupt, .lineTooLong:
                throw CommandError(.dataError, "streamlearn predict: \(error)")
            }
        } catch let error as CommandError {
            try scorer.flush()
            throw error
        }
        try scorer.flush()
        return .success
    }

    /// Builds the model from a checkpoint file or a directory's newest valid checkpoint; skipped
    /// damaged files are reported on stderr.
    private static func loadModel(_ path: String) throws -> Model {
        var isDirectory: ObjCBool = false
        let checkpoint: Checkpoint
        let checkpointPath: String
        do {
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let store = CheckpointStore(directory: path, keep: 1)
                guard let loaded = try store.loadNewest(expectedShape: nil, removingStaleFiles: false) else {
                    throw CommandError(.ioError, "streamlearn predict: no checkpoint files in directory '\(path)'")
                }
                for skipped in loaded.skipped {
                    FileHandle.standardError.write(Data("streamlearn predict: \(skipped.error), skipping\n".utf8))
                }
                checkpoint = loaded.checkpoint
                checkpointPath = loaded.path
            } else {
                checkpoint = try CheckpointStore.read(path: path)
                checkpointPath = path
            }
        } catch let error as CheckpointError {
            throw CommandError(error.exitCode, "streamlearn predict: \(error)")
        }
        do {
            return try Model(state: checkpoint.model)
        } catch {
            throw CommandError(
                .dataError,
                "streamlearn predict: Failed to load model from '\(checkpointPath)': \(error)"
            )
        }
    }

    private static func labelSource(
        _ text: String,
        inputCount: Int,
        _ arguments: ParsedArguments
    ) throws -> RecordDecoder.LabelSource {
        switch text {
        case "none": return .none
        case "first": return .column(0)
        case "last": return .column(inputCount)
        default:
            guard let index = Int(text), (0...inputCount).contains(index) else {
                let choices = "none, first, last or a field number from 0 to \(inputCount)"
                throw arguments.usage("option '--label' must be \(choices), got '\(text)'")
            }
            return .column(index)
        }
    }
}

/// Collects decoded rows into a batch, scores full batches and writes their probabilities to
/// standard output. One owner; reuses its buffers for every batch.
private final class BatchScorer {
    private let model: Model
    private let decoder: RecordDecoder
    private let batchSize: Int
    private let inputName: String
    private var features: [Float]
    private var scores: [Float]
    private var rowCount = 0
    private var output: [UInt8] = []

    init(model: Model, decoder: RecordDecoder, batchSize: Int, inputName: String) {
        self.model = model
        self.decoder = decoder
        self.batchSize = batchSize
        self.inputName = inputName == "-" ? "standard input" : "'\(inputName)'"
        features = [Float](repeating: 0, count: batchSize * model.inputCount)
        scores = [Float](repeating: 0, count: batchSize)
        output.reserveCapacity(batchSize * 12)
    }

    /// Decodes one line into the batch; throws a data error naming the line when it is bad.
    func add(line: UnsafeRawBufferPointer, number: Int) throws {
        let inputCount = model.inputCount
        let start = rowCount * inputCount
        let decoder = decoder
        let result = features.withUnsafeMutableBufferPointer { buffer in
            let row = UnsafeMutableBufferPointer(rebasing: buffer[start..<(start + inputCount)])
            return Result { () throws(DecodeFailure) in _ = try decoder.decode(key: nil, value: line, into: row) }
        }
        if case .failure(let failure) = result {
            let reason = failure == .empty ? "the line is empty" : failure.description(key: nil, value: line)
            throw CommandError(
                .dataError,
                "streamlearn predict: Failed to decode line \(number) of \(inputName): \(reason)"
            )
        }
        rowCount += 1
        if rowCount == batchSize { try flush() }
    }

    /// Scores the rows collected so far and writes them out.
    func flush() throws {
        guard rowCount > 0 else { return }
        let rows = rowCount
        let inputCount = model.inputCount
        features.withUnsafeBufferPointer { features in
            scores.withUnsafeMutableBufferPointer { scores in
                model.predict(
                    features: UnsafeBufferPointer(rebasing: features[0..<(rows * inputCount)]),
                    into: UnsafeMutableBufferPointer(rebasing: scores[0..<rows])
                )
            }
        }
        output.removeAll(keepingCapacity: true)
        for score in scores[0..<rows] {
            output.append(contentsOf: score.description.utf8)
            output.append(UInt8(ascii: "\n"))
        }
        rowCount = 0
        try writeStandardOutput(output)
    }

    private func writeStandardOutput(_ bytes: [UInt8]) throws {
        let failure: Int32 = bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return 0
        }
        if failure != 0 {
            throw CommandError(
                .ioError,
                "streamlearn predict: Failed to write standard output: \(String(cString: strerror(failure)))"
            )
        }
    }
}
