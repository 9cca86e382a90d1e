import Foundation
import StreamLearnCore

/// `streamlearn inspect`: print a checkpoint's metadata as JSON.
///
/// Exit status: 0 for a valid checkpoint; 65 for a damaged or unrecognised file (stdout still
/// gets the JSON of what could be read: the path, the format version when the header is
/// intact, and the error as "checksum"); 74 when the file cannot be read at all.
enum InspectCommand: Command {
    static let spec = CommandSpec(
        name: "inspect",
        summary: "print a checkpoint's metadata as JSON",
        usage: "streamlearn inspect MODEL",
        options: [],
        discussion: """
            MODEL is a checkpoint file (checkpoint-NNNNNNNNNNNN.slck) or a checkpoint directory,
            whose newest checkpoint file is inspected. The checksum is verified; the JSON gives
            the format version, sequence, model kind and shape, optimizer, training counters,
            standardiser, the next offset to train per topic and partition, and the metadata.
            Exit status: 0 valid, 65 damaged or not a checkpoint, 74 unreadable.
            """
    )

    static func run(_ arguments: ParsedArguments) throws -> ExitCode {
        guard arguments.positionals.count == 1 else {
            throw arguments.usage(
                "expects one MODEL (a checkpoint file or directory), got \(arguments.positionals.count)"
            )
        }
        let path = try resolve(arguments.positionals[0])

        let bytes: [UInt8]
        do {
            bytes = try CheckpointStore.readFile(path: path)
        } catch {
            if case .damaged(_, let damage) = error { return try reportDamage(path: path, header: nil, damage) }
            throw CommandError(error.exitCode, "streamlearn inspect: \(error)")
        }
        let header = bytes.withUnsafeBytes { try? CheckpointCodec.header(of: $0) }
        let checkpoint: Checkpoint
        do {
            checkpoint = try CheckpointCodec.decode(bytes)
        } catch {
            return try reportDamage(path: path, header: header, error)
        }
        print(render(document(path: path, fileSize: bytes.count, checkpoint: checkpoint)))
        return .success
    }

    /// A directory stands for its newest checkpoint file.
    private static func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return path
        }
        let store = CheckpointStore(directory: path, keep: 1)
        do {
            guard let newest = try store.checkpointPaths().first else {
                throw CommandError(.ioError, "streamlearn inspect: no checkpoint files in directory '\(path)'")
            }
            return newest
        } catch let error as CheckpointError {
            throw CommandError(error.exitCode, "streamlearn inspect: \(error)")
        }
    }

    private static func reportDamage(
        path: String,
        header: CheckpointCodec.Header?,
        _ damage: CheckpointError.Damage
    ) throws -> ExitCode {
        let versionValue: JSON = header.map { .integer(Int64($0.formatVersion)) } ?? .null
        print(
            render(
                .object([
                    ("path", .string(path)),
                    ("format_version", versionValue),
                    ("checksum", .string(damage.description)),
                ])
            )
        )
        throw CommandError(.dataError, "streamlearn inspect: \(CheckpointError.damaged(path: path, damage))")
    }

    private static func document(path: String, fileSize: Int, checkpoint: Checkpoint) -> JSON {
        let model = checkpoint.model
        let optimizer = model.optimizer
        let offsets = checkpoint.offsets.sorted { $0.key < $1.key }.map { entry -> JSON in
            .object([
                ("topic", .string(entry.key.topic)),
                ("partition", .integer(Int64(entry.key.partition))),
                ("next_offset", .integer(entry.value)),
            ])
        }
        let metadata = checkpoint.metadata.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }
        return .object([
            ("path", .string(path)),
            ("file_bytes", .integer(Int64(fileSize))),
            ("format_version", .integer(Int64(CheckpointCodec.formatVersion))),
            ("checksum", .string("ok")),
            ("sequence", .integer(checkpoint.sequence)),
            (
                "model",
                .object([
                    ("kind", .string(model.kind.name)),
                    ("shape", .string(model.shapeDescription)),
                    ("input_count", .integer(Int64(model.inputCount))),
                    ("hidden_sizes", .array(model.hiddenSizes.map { .integer(Int64($0)) })),
                    ("dropout", .array(model.dropoutRates.map { .float($0) })),
                    ("parameter_count", .integer(Int64(model.parameters.count))),
                ])
            ),
            (
                "optimizer",
                .object([
                    ("kind", .string(optimizerName(optimizer.kind))),
                    ("learning_rate", .float(optimizer.learningRate)),
                    ("beta1", .float(optimizer.beta1)),
                    ("beta2", .float(optimizer.beta2)),
                    ("epsilon", .float(optimizer.epsilon)),
                    ("step", .integer(optimizer.step)),
                ])
            ),
            (
                "training",
                .object([
                    ("records", .integer(model.recordsTrained)),
                    ("batches", .integer(model.batchesTrained)),
                ])
            ),
            (
                "standardizer",
                .object([
                    ("enabled", .bool(model.standardizer.isEnabled)),
                    ("count", .integer(model.standardizer.count)),
                ])
            ),
            ("offsets", .array(offsets)),
            ("metadata", .object(metadata)),
        ])
    }

    private static func optimizerName(_ kind: OptimizerState.Kind) -> String {
        switch kind {
        case .adam: "adam"
        case .sgd: "sgd"
        }
    }

    /// The few JSON shapes the report needs, with members kept in the order given.
    private indirect enum JSON {
        case null
        case bool(Bool)
        case integer(Int64)
        /// Written with the shortest digits that read back as the same Float (0.2, not
        /// 0.20000000298); NaN and infinities, which JSON cannot express, as null.
        case float(Float)
        case string(String)
        case array([JSON])
        case object([(String, JSON)])

        var isScalar: Bool {
            switch self {
            case .array, .object: false
            default: true
            }
        }
    }

    /// Pretty-printed with two-space indents; short arrays of scalars stay on one line.
    private static func render(_ value: JSON, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .null:
            return "null"
        case .bool(let flag):
            return flag ? "true" : "false"
        case .integer(let number):
            return String(number)
        case .float(let number):
            return number.isFinite ? "\(number)" : "null"
        case .string(let text):
            return quoted(text)
        case .array(let elements):
            if elements.isEmpty { return "[]" }
            if elements.allSatisfy(\.isScalar) {
                return "[" + elements.map { render($0) }.joined(separator: ", ") + "]"
            }
            return "[\n" + elements.map { inner + render($0, indent: inner) }.joined(separator: ",\n")
                + "\n" + indent + "]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            return "{\n"
                + members.map { inner + quoted($0.0) + ": " + render($0.1, indent: inner) }.joined(separator: ",\n")
                + "\n" + indent + "}"
        }
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
