import Foundation
import Gzip
import StreamLearnCore
import Testing

/// A small trained model saved through `CheckpointStore`, with the rows it is scored on.
private struct Fixture {
    let directory: String
    let checkpointPath: String
    let model: Model
    let checkpoint: Checkpoint
    /// 50 rows of 4 features each, as CSV lines (no label), with their labels.
    let lines: [String]
    let labels: [Int]

    init() throws {
        directory = NSTemporaryDirectory() + "streamlearn-predict-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let configuration = ModelConfiguration(
            kind: .mlp,
            inputCount: 4,
            hiddenSizes: [8, 4],
            dropoutRates: [0.1, 0.25],
            seed: 7
        )
        model = Model(configuration: configuration)
        var generator = FixtureGenerator(seed: 21)
        var features: [Float] = []
        var trainingLabels: [Float] = []
        for _ in 0..<256 {
            let row = (0..<4).map { _ in Float.random(in: -2...2, using: &generator) }
            features += row
            trainingLabels.append(row[0] + row[1] > 0 ? 1 : 0)
        }
        let model = model
        _ = try features.withUnsafeBufferPointer { features in
            try trainingLabels.withUnsafeBufferPointer { labels in
                try model.fit(features: features, labels: labels, batchSize: 32, epochs: 3, shuffle: true)
            }
        }
        checkpoint = Checkpoint(
            sequence: 3,
            model: model.state,
            offsets: [
                TopicPartition(topic: "susy-train", partition: 1): 512,
                TopicPartition(topic: "susy-train", partition: 0): 77,
            ],
            metadata: [
                Checkpoint.MetadataKey.configHash: "c0ffee", Checkpoint.MetadataKey.createdAt: "2026-12-03T10:00:00Z",
            ]
        )
        checkpointPath = try CheckpointStore(directory: directory, keep: 2).write(checkpoint)

        var lines: [String] = []
        var labels: [Int] = []
        for index in 0..<50 {
            let row = (0..<4).map { _ in Float.random(in: -3...3, using: &generator) }
            // Vary the spelling: exponents, spaces, signs, many digits.
            let fields = row.enumerated().map { column, value in
                switch (index + column) % 4 {
                case 0: "\(value)"
                case 1: " \(Double(value))"
                case 2: String(format: "%.3e", value)
                default: String(format: "%+.9f ", value)
                }
            }
            lines.append(fields.joined(separator: ","))
            labels.append(index % 2)
        }
        self.lines = lines
        self.labels = labels
    }

    /// What the model in this process says for `lines`, as the command should print it.
    func expectedScores() -> [String] {
        let decoder = RecordDecoder(featureCount: 4, label: .none)
        var features = [Float](repeating: 0, count: lines.count * 4)
        for (index, line) in lines.enumerated() {
            var row = [Float](repeating: 0, count: 4)
            _ = try? Array(line.utf8).withUnsafeBytes { value in
                try row.withUnsafeMutableBufferPointer { try decoder.decode(key: nil, value: value, into: $0) }
            }
            features.replaceSubrange((index * 4)..<(index * 4 + 4), with: row)
        }
        var scores = [Float](repeating: 0, count: lines.count)
        features.withUnsafeBufferPointer { features in
            scores.withUnsafeMutableBufferPointer { model.predict(features: features, into: $0) }
        }
        return scores.map(\.description)
    }

    func write(_ text: String, to name: String) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A deterministic generator for the fixture (SplitMix64).
private struct FixtureGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

@Suite("streamlearn predict")
struct PredictCommandTests {
    @Test("prints the model's probability for each row read from standard input, bit for bit")
    func standardInput() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let input = Data((fixture.lines.joined(separator: "\n") + "\n").utf8)
        let output = try TestBinary.run(["predict", "--model", fixture.checkpointPath], standardInput: input)
        #expect(output.status == 0, "\(output.standardError)")
        #expect(output.lines == fixture.expectedScores())
        #expect(output.lines.allSatisfy { Float($0).map { (0...1).contains($0) } ?? false })
    }

    @Test("skips a label column and a header, reads gzip files, and takes a checkpoint directory")
    func labelColumnAndGzip() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let expected = fixture.expectedScores()

        let labelled = zip(fixture.labels, fixture.lines).map { "\($0),\($1)" }
        let first = try fixture.write("label,a,b,c,d\r\n" + labelled.joined(separator: "\r\n"), to: "first.csv")
        let firstOutput = try TestBinary.run(
            ["predict", "--model", fixture.directory, "--input", first, "--label", "first", "--header"]
        )
        #expect(firstOutput.status == 0, "\(firstOutput.standardError)")
        #expect(firstOutput.lines == expected)

        let gzipPath = fixture.directory + "/last.csv.gz"
        let writer = try GzipWriter(path: gzipPath)
        try writer.write(zip(fixture.lines, fixture.labels).map { "\($0),\($1)\n" }.joined())
        try writer.finish()
        let lastOutput = try TestBinary.run(
            ["predict", "--model", fixture.checkpointPath, "--input", gzipPath, "--label", "last", "--batch-size", "7"]
        )
        #expect(lastOutput.status == 0, "\(lastOutput.standardError)")
        // Another batch size takes other OpenBLAS kernels, so the last bit may differ.
        #expect(agreeClosely(lastOutput.lines, expected))
    }

    @Test("stops at a bad row with its line number and reason, after printing the rows before it")
    func badRow() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var lines = Array(fixture.lines.prefix(5))
        lines[3] = "0.5,abc,1,2"
        let path = try fixture.write(lines.joined(separator: "\n"), to: "bad.csv")
        let output = try TestBinary.run(["predict", "--model", fixture.checkpointPath, "--input", path])
        #expect(output.status == 65)
        #expect(
            output.standardError
                == "streamlearn predict: Failed to decode line 4 of '\(path)': field 2 is not a number: 'abc'\n"
        )
        #expect(agreeClosely(output.lines, Array(fixture.expectedScores().prefix(3))))

        let short = try fixture.write("1,2,3\n", to: "short.csv")
        let shortOutput = try TestBinary.run(["predict", "--model", fixture.checkpointPath, "--input", short])
        #expect(shortOutput.status == 65)
        #expect(shortOutput.standardError.contains("line 1 of '\(short)': expected 4 fields, found 3"))

        let labelled = try fixture.write("1," + fixture.lines[0] + "\n\n", to: "blank.csv")
        let blank = try TestBinary.run(
            ["predict", "--model", fixture.checkpointPath, "--input", labelled, "--label", "first"]
        )
        #expect(blank.status == 65)
        #expect(blank.standardError.contains("line 2 of '\(labelled)': the line is empty"))
    }

    @Test("refuses bad options with usage errors and bad models with I/O or data errors")
    func refusals() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let missingModel = try TestBinary.run(["predict"])
        #expect(missingModel.status == 64)
        #expect(missingModel.standardError.contains("missing required option '--model'"))

        let badLabel = try TestBinary.run(["predict", "--model", fixture.checkpointPath, "--label", "9"])
        #expect(badLabel.status == 64)
        #expect(badLabel.standardError.contains("a field number from 0 to 4, got '9'"))

        let absent = fixture.directory + "/absent.slck"
        let unreadable = try TestBinary.run(["predict", "--model", absent])
        #expect(unreadable.status == 74)
        #expect(
            unreadable.standardError
                == "streamlearn predict: Failed to read checkpoint '\(absent)': No such file or directory\n"
        )

        let notCheckpoint = try fixture.write("1,2,3,4\n", to: "rows.csv")
        let damaged = try TestBinary.run(["predict", "--model", notCheckpoint])
        #expect(damaged.status == 65)
        #expect(damaged.standardError.contains("not a streamlearn checkpoint"))

        let help = try TestBinary.run(["predict", "--help"])
        #expect(help.status == 0)
        #expect(help.standardOutput.contains("--label none|first|last|N"))
    }
}

@Suite("streamlearn inspect")
struct InspectCommandTests {
    @Test("prints a checkpoint's metadata as JSON")
    func metadata() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let output = try TestBinary.run(["inspect", fixture.checkpointPath])
        #expect(output.status == 0, "\(output.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: output.standardOutputData) as? [String: Any])
        let state = fixture.checkpoint.model
        #expect(json["path"] as? String == fixture.checkpointPath)
        #expect(json["format_version"] as? Int == 1)
        #expect(json["checksum"] as? String == "ok")
        #expect(json["sequence"] as? Int == 3)
        let model = try #require(json["model"] as? [String: Any])
        #expect(model["kind"] as? String == "mlp")
        #expect(model["shape"] as? String == "mlp 4-8-4-1")
        #expect(model["input_count"] as? Int == 4)
        #expect(model["hidden_sizes"] as? [Int] == [8, 4])
        #expect(model["dropout"] as? [Double] == [0.1, 0.25])
        #expect(model["parameter_count"] as? Int == state.parameters.count)
        let optimizer = try #require(json["optimizer"] as? [String: Any])
        #expect(optimizer["kind"] as? String == "adam")
        #expect(optimizer["learning_rate"] as? Double == 0.001)
        #expect(optimizer["epsilon"] as? Double == 1e-7)
        #expect(optimizer["step"] as? Int == Int(fixture.model.step))
        let training = try #require(json["training"] as? [String: Any])
        #expect(training["records"] as? Int == Int(state.recordsTrained))
        #expect(training["batches"] as? Int == Int(state.batchesTrained))
        #expect(state.recordsTrained == 768 && state.batchesTrained == 24)
        let standardizer = try #require(json["standardizer"] as? [String: Any])
        #expect(standardizer["enabled"] as? Bool == true)
        #expect(standardizer["count"] as? Int == 256)
        let offsets = try #require(json["offsets"] as? [[String: Any]])
        #expect(offsets.map { $0["topic"] as? String } == ["susy-train", "susy-train"])
        #expect(offsets.map { $0["partition"] as? Int } == [0, 1])
        #expect(offsets.map { $0["next_offset"] as? Int } == [77, 512])
        let metadata = try #require(json["metadata"] as? [String: String])
        #expect(metadata == ["config_hash": "c0ffee", "created_at": "2026-12-03T10:00:00Z"])

        let viaDirectory = try TestBinary.run(["inspect", fixture.directory])
        #expect(viaDirectory.status == 0)
        #expect(viaDirectory.standardOutput == output.standardOutput)
    }

    @Test("reports a damaged checkpoint in the JSON and exits 65")
    func damaged() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture.checkpointPath)))
        bytes[bytes.count / 2] ^= 0x20
        let flipped = fixture.directory + "/flipped.slck"
        try Data(bytes).write(to: URL(fileURLWithPath: flipped))
        let output = try TestBinary.run(["inspect", flipped])
        #expect(output.status == 65)
        let json = try #require(try JSONSerialization.jsonObject(with: output.standardOutputData) as? [String: Any])
        #expect(json["format_version"] as? Int == 1)
        #expect((json["checksum"] as? String)?.hasPrefix("checksum mismatch (stored 0x") == true)
        #expect(
            output.standardError.hasPrefix(
                "streamlearn inspect: Failed to load checkpoint '\(flipped)': checksum mismatch"
            )
        )

        let cut = fixture.directory + "/cut.slck"
        try Data(bytes.prefix(100)).write(to: URL(fileURLWithPath: cut))
        let truncated = try TestBinary.run(["inspect", cut])
        #expect(truncated.status == 65)
        #expect(truncated.standardError.contains("file is 100 bytes, its header says \(bytes.count): truncated"))

        let text = try fixture.write("label,a,b\n", to: "rows.csv")
        let other = try TestBinary.run(["inspect", text])
        #expect(other.status == 65)
        let otherJSON = try #require(try JSONSerialization.jsonObject(with: other.standardOutputData) as? [String: Any])
        #expect(otherJSON["format_version"] is NSNull)
        #expect(otherJSON["checksum"] as? String == "not a streamlearn checkpoint (no SLCK magic)")
    }

    @Test("exits 74 for a file it cannot read and 64 without exactly one MODEL")
    func unreadable() throws {
        let missing = NSTemporaryDirectory() + "streamlearn-no-such-" + UUID().uuidString + ".slck"
        let output = try TestBinary.run(["inspect", missing])
        #expect(output.status == 74)
        #expect(
            output.standardError
                == "streamlearn inspect: Failed to read checkpoint '\(missing)': No such file or directory\n"
        )
        #expect(output.standardOutput.isEmpty)
        #expect(try TestBinary.run(["inspect"]).status == 64)
        #expect(try TestBinary.run(["inspect", "a", "b"]).status == 64)
    }
}

/// True when both lists hold the same number of scores and each pair agrees to a relative
/// 1e-6: scores of one row from batches of different sizes may differ in the last bit.
private func agreeClosely(_ lines: [String], _ expected: [String]) -> Bool {
    guard lines.count == expected.count else { return false }
    return zip(lines, expected).allSatisfy { line, wanted in
        guard let score = Float(line), let target = Float(wanted) else { return false }
        return abs(score - target) <= 1e-6 * max(abs(target), Float.leastNormalMagnitude)
    }
}
