import Foundation
import Testing

@testable import StreamLearnCore

/// A small model state whose every field holds a distinct, awkward value: NaN payloads,
/// negative zero, subnormals, infinities, extreme integers.
private func makeState(
    kind: ModelState.Kind = .mlp,
    inputCount: Int = 3,
    hiddenSizes: [Int] = [4, 2]
) -> ModelState {
    let sizes = [inputCount] + hiddenSizes + [1]
    let parameterCount = zip(sizes, sizes.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 + $1.1 }
    var parameters = (0..<parameterCount).map { Float($0) * 0.37 - 1.5 }
    parameters[0] = Float(bitPattern: 0x7FC0_1234)  // NaN with a payload
    parameters[1] = -0.0
    parameters[2] = .leastNonzeroMagnitude
    parameters[3] = -.infinity
    return ModelState(
        kind: kind,
        inputCount: inputCount,
        hiddenSizes: hiddenSizes,
        dropoutRates: hiddenSizes.indices.map { Float($0 + 1) * 0.2 },
        parameters: parameters,
        optimizer: OptimizerState(
            kind: .adam,
            learningRate: 0.001,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            step: Int64.max - 3,
            firstMoments: parameters.map { $0 * 0.5 },
            secondMoments: parameters.map { $0 * $0 + 1e-30 }
        ),
        standardizer: StandardizerState(
            isEnabled: true,
            count: 1_234_567,
            means: (0..<inputCount).map { Double($0) / 3 },
            squaredDeviations: (0..<inputCount).map { -Double($0) * .pi + .leastNormalMagnitude }
        ),
        generatorState: [0xDEAD_BEEF_0000_0001, 0, .max, 42],
        recordsTrained: 987_654_321_012,
        batchesTrained: -1
    )
}

private func makeCheckpoint(sequence: Int64 = 7, state: ModelState = makeState()) -> Checkpoint {
    Checkpoint(
        sequence: sequence,
        model: state,
        offsets: [
            TopicPartition(topic: "susy-train", partition: 0): 1_000,
            TopicPartition(topic: "susy-train", partition: 2): 0,
            TopicPartition(topic: "ünïcode.topic", partition: Int32.max): Int64.max,
        ],
        metadata: [Checkpoint.MetadataKey.configHash: "ab12", "note": "héllo, wörld", "": ""]
    )
}

/// Compares Floats and Doubles by bit pattern, since `==` fails for NaN and ignores the sign of 0.
private func expectBitIdentical(_ decoded: Checkpoint, _ original: Checkpoint) {
    let a = decoded.model
    let b = original.model
    #expect(decoded.sequence == original.sequence)
    #expect(decoded.offsets == original.offsets)
    #expect(decoded.metadata == original.metadata)
    #expect(a.kind == b.kind)
    #expect(a.inputCount == b.inputCount)
    #expect(a.hiddenSizes == b.hiddenSizes)
    #expect(a.dropoutRates.map(\.bitPattern) == b.dropoutRates.map(\.bitPattern))
    #expect(a.parameters.map(\.bitPattern) == b.parameters.map(\.bitPattern))
    #expect(a.optimizer.kind == b.optimizer.kind)
    #expect(a.optimizer.learningRate.bitPattern == b.optimizer.learningRate.bitPattern)
    #expect(a.optimizer.beta1.bitPattern == b.optimizer.beta1.bitPattern)
    #expect(a.optimizer.beta2.bitPattern == b.optimizer.beta2.bitPattern)
    #expect(a.optimizer.epsilon.bitPattern == b.optimizer.epsilon.bitPattern)
    #expect(a.optimizer.step == b.optimizer.step)
    #expect(a.optimizer.firstMoments.map(\.bitPattern) == b.optimizer.firstMoments.map(\.bitPattern))
    #expect(a.optimizer.secondMoments.map(\.bitPattern) == b.optimizer.secondMoments.map(\.bitPattern))
    #expect(a.standardizer.isEnabled == b.standardizer.isEnabled)
    #expect(a.standardizer.count == b.standardizer.count)
    #expect(a.standardizer.means.map(\.bitPattern) == b.standardizer.means.map(\.bitPattern))
    #expect(
        a.standardizer.squaredDeviations.map(\.bitPattern) == b.standardizer.squaredDeviations.map(\.bitPattern)
    )
    #expect(a.generatorState == b.generatorState)
    #expect(a.recordsTrained == b.recordsTrained)
    #expect(a.batchesTrained == b.batchesTrained)
}

/// Recomputes the length field and checksum of edited bytes, as a crafted file would.
private func resealed(_ bytes: [UInt8]) -> [UInt8] {
    var bytes = bytes
    withUnsafeBytes(of: UInt64(bytes.count).littleEndian) {
        for (index, byte) in $0.enumerated() { bytes[8 + index] = byte }
    }
    let crc = CRC32C.checksum(Array(bytes.dropLast(4)))
    withUnsafeBytes(of: crc.littleEndian) {
        for (index, byte) in $0.enumerated() { bytes[bytes.count - 4 + index] = byte }
    }
    return bytes
}

/// A fresh empty directory under the system temporary directory, removed by the caller.
private func makeTemporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "streamlearn-checkpoint-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    return path
}

private func fileNames(in directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}

@Suite("CRC-32C")
struct CRC32CTests {
    @Test("matches the published check value and the RFC 3720 test vectors")
    func knownVectors() {
        #expect(CRC32C.checksum("123456789") == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test("gives the same value however the input is split")
    func incremental() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = CRC32C.checksum(bytes)
        for split in [0, 1, 3, 7, 8, 9, 500, 999, 1000] {
            var crc = CRC32C()
            crc.update(Array(bytes[..<split]))
            crc.update(Array(bytes[split...]))
            #expect(crc.value == whole, "split at \(split)")
        }
    }
}

@Suite("Checkpoint codec")
struct CheckpointCodecTests {
    @Test("round-trips every model state field bit for bit")
    func roundTrip() throws {
        for state in [makeState(), makeState(kind: .logistic, inputCount: 5, hiddenSizes: [])] {
            let original = makeCheckpoint(state: state)
            let decoded = try CheckpointCodec.decode(CheckpointCodec.encode(original))
            expectBitIdentical(decoded, original)
        }
    }

    @Test("round-trips an SGD optimizer with empty moments, a disabled standardiser and no offsets")
    func roundTripEmptyParts() throws {
        var state = makeState()
        state.optimizer = OptimizerState(
            kind: .sgd,
            learningRate: 0.01,
            beta1: 0,
            beta2: 0,
            epsilon: 0,
            step: 0,
            firstMoments: [],
            secondMoments: []
        )
        state.standardizer = StandardizerState(isEnabled: false, count: 0, means: [], squaredDeviations: [])
        state.generatorState = []
        let original = Checkpoint(sequence: 0, model: state)
        let decoded = try CheckpointCodec.decode(CheckpointCodec.encode(original))
        expectBitIdentical(decoded, original)
        #expect(decoded == original || decoded.model.parameters[0].isNaN)
    }

    @Test("encodes equal checkpoints to equal bytes, whatever the dictionary order")
    func deterministic() {
        var first = makeCheckpoint()
        var second = makeCheckpoint()
        first.offsets = [:]
        second.offsets = [:]
        for partition in Int32(0)..<50 { first.offsets[TopicPartition(topic: "t", partition: partition)] = 1 }
        for partition in (Int32(0)..<50).reversed() {
            second.offsets[TopicPartition(topic: "t", partition: partition)] = 1
        }
        #expect(CheckpointCodec.encode(first) == CheckpointCodec.encode(second))
    }

    @Test("starts with the SLCK magic and format version 1, and ends with its CRC-32C")
    func layout() {
        let bytes = CheckpointCodec.encode(makeCheckpoint())
        #expect(Array(bytes[0..<4]) == Array("SLCK".utf8))
        #expect(bytes[4..<8] == [1, 0, 0, 0])
        let stored = bytes.suffix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
        #expect(stored == CRC32C.checksum(Array(bytes.dropLast(4))))
    }

    @Test("detects a damaged byte at every position of a small checkpoint")
    func everyFlippedByte() {
        let original = CheckpointCodec.encode(makeCheckpoint())
        var undetected: [Int] = []
        for position in original.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = original
                damaged[position] ^= mask
                if (try? CheckpointCodec.decode(damaged)) != nil { undetected.append(position) }
            }
        }
        #expect(undetected.isEmpty, "undetected damage at byte positions \(undetected)")
    }

    @Test("reports a flipped payload byte as a checksum mismatch")
    func checksumMessage() {
        var bytes = CheckpointCodec.encode(makeCheckpoint())
        bytes[bytes.count / 2] ^= 0x10
        #expect {
            try CheckpointCodec.decode(bytes)
        } throws: { error in
            guard case .checksumMismatch = error as? CheckpointError.Damage else { return false }
            return "\(error)".hasPrefix("checksum mismatch (stored 0x")
        }
    }

    @Test("detects every truncation, and calls a cut file truncated")
    func truncated() {
        let original = CheckpointCodec.encode(makeCheckpoint())
        for length in 0..<original.count {
            #expect(throws: CheckpointError.Damage.self, "length \(length)") {
                try CheckpointCodec.decode(Array(original.prefix(length)))
            }
        }
        #expect(throws: CheckpointError.Damage.truncated(expectedBytes: original.count, actualBytes: 100)) {
            try CheckpointCodec.decode(Array(original.prefix(100)))
        }
        #expect(
            throws: CheckpointError.Damage.truncated(expectedBytes: original.count, actualBytes: original.count + 1)
        ) {
            try CheckpointCodec.decode(original + [0])
        }
        #expect(throws: CheckpointError.Damage.truncated(expectedBytes: 20, actualBytes: 0)) {
            try CheckpointCodec.decode([UInt8]())
        }
    }

    @Test("refuses other files and other format versions, naming the version")
    func otherFiles() {
        #expect(throws: CheckpointError.Damage.notACheckpoint) {
            try CheckpointCodec.decode(Array("label,f1,f2\n1,2,3\n".utf8))
        }
        var bytes = CheckpointCodec.encode(makeCheckpoint())
        bytes[4] = 2
        let future = resealed(bytes)
        #expect(throws: CheckpointError.Damage.unsupportedVersion(found: 2, supported: 1)) {
            try CheckpointCodec.decode(future)
        }
        let message = "\(CheckpointError.Damage.unsupportedVersion(found: 2, supported: 1))"
        #expect(message == "checkpoint format version 2 is not supported (this build reads version 1)")
    }

    @Test("refuses a huge count behind a valid checksum without allocating it")
    func hugeCountBehindValidChecksum() throws {
        let checkpoint = makeCheckpoint()
        let bytes = CheckpointCodec.encode(checkpoint)
        // The PARM count follows the CKPT section (16 header + 12 + 8) and the SHAP section.
        let shapeLength =
            1 + 8 + 4 + 8 * checkpoint.model.hiddenSizes.count + 4 + 4 * checkpoint.model.dropoutRates.count
        let countOffset = 16 + (12 + 8) + (12 + shapeLength) + 12
        var crafted = bytes
        for index in 0..<8 { crafted[countOffset + index] = index == 7 ? 0x10 : 0xFF }
        #expect {
            try CheckpointCodec.decode(resealed(crafted))
        } throws: { error in
            "\(error)".contains("PARM") && "\(error)".contains("needs more than")
        }
    }

    @Test("never crashes on randomly edited files, even with a recomputed checksum")
    func fuzzedFiles() {
        let original = CheckpointCodec.encode(makeCheckpoint())
        var generator = SplitMix64(seed: 2024)
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let position = 16 + Int(generator.next() % UInt64(bytes.count - 20))
                bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            if generator.next() % 5 == 0 {
                bytes.removeSubrange((bytes.count - 4 - Int(generator.next() % 40))..<(bytes.count - 4))
            }
            // Either a clean error or a checkpoint; the test fails only by crashing.
            _ = try? CheckpointCodec.decode(resealed(bytes))
        }
    }
}

/// A deterministic generator for tests (SplitMix64).
private struct SplitMix64: RandomNumberGenerator {
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

@Suite("Checkpoint store")
struct CheckpointStoreTests {
    @Test("names files by zero-padded sequence and parses only its own names")
    func names() {
        #expect(CheckpointStore.fileName(sequence: 42) == "checkpoint-000000000042.slck")
        #expect(CheckpointStore.sequence(fileName: "checkpoint-000000000042.slck") == 42)
        #expect(CheckpointStore.sequence(fileName: "checkpoint-1234567890123.slck") == 1_234_567_890_123)
        #expect(CheckpointStore.sequence(fileName: ".checkpoint-000000000042.slck.17.tmp") == nil)
        #expect(CheckpointStore.sequence(fileName: "checkpoint-.slck") == nil)
        #expect(CheckpointStore.sequence(fileName: "checkpoint--1.slck") == nil)
    }

    @Test("writes atomically, keeps the newest K files, and counts the next sequence")
    func keepsNewest() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory, keep: 3)
        #expect(try store.nextSequence() == 1)
        #expect(try store.loadNewest(expectedShape: nil) == nil)

        for sequence in Int64(1)...6 {
            let path = try store.write(makeCheckpoint(sequence: sequence))
            #expect(path == directory + "/" + CheckpointStore.fileName(sequence: sequence))
        }
        #expect(try fileNames(in: directory) == (4...6).map { CheckpointStore.fileName(sequence: $0) })
        #expect(try store.nextSequence() == 7)

        let loaded = try #require(try store.loadNewest(expectedShape: "mlp 3-4-2-1"))
        #expect(loaded.checkpoint.sequence == 6)
        #expect(loaded.skipped.isEmpty)
        expectBitIdentical(loaded.checkpoint, makeCheckpoint(sequence: 6))
    }

    @Test("falls back to the previous checkpoint when the newest is damaged, and says so")
    func newestDamaged() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory, keep: 5)
        for sequence in Int64(1)...3 { try store.write(makeCheckpoint(sequence: sequence)) }
        let newest = directory + "/" + CheckpointStore.fileName(sequence: 3)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: newest)))
        bytes[200] ^= 0x04
        try Data(bytes).write(to: URL(fileURLWithPath: newest))
        let cut = directory + "/" + CheckpointStore.fileName(sequence: 4)
        try Data(bytes.prefix(50)).write(to: URL(fileURLWithPath: cut))

        let loaded = try #require(try store.loadNewest(expectedShape: "mlp 3-4-2-1"))
        #expect(loaded.checkpoint.sequence == 2)
        #expect(loaded.path == directory + "/" + CheckpointStore.fileName(sequence: 2))
        #expect(loaded.skipped.map(\.path) == [cut, newest])
        #expect("\(loaded.skipped[0].error)".contains("truncated"))
        #expect("\(loaded.skipped[1].error)".hasPrefix("Failed to load checkpoint '\(newest)': checksum mismatch"))
        // A new checkpoint must sort after the damaged files.
        #expect(try store.nextSequence() == 5)
    }

    @Test("refuses to start over when every checkpoint is damaged")
    func allDamaged() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory, keep: 2)
        let path = try store.write(makeCheckpoint(sequence: 1))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            try store.loadNewest(expectedShape: nil)
        } throws: { error in
            guard case .noValidCheckpoint(let found, let skipped) = error as? CheckpointError else { return false }
            return found == directory && skipped.map(\.path) == [path]
                && "\(error)".contains("all 1 checkpoint files are damaged")
        }
    }

    @Test("refuses a checkpoint of another shape, naming both shapes, without falling back")
    func shapeMismatch() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory, keep: 3)
        try store.write(makeCheckpoint(sequence: 1, state: makeState(inputCount: 20)))
        try store.write(makeCheckpoint(sequence: 2, state: makeState(inputCount: 18)))
        #expect {
            try store.loadNewest(expectedShape: "mlp 20-4-2-1")
        } throws: { error in
            let text = "\(error)"
            return error as? CheckpointError
                == .shapeMismatch(
                    path: directory + "/checkpoint-000000000002.slck",
                    found: "mlp 18-4-2-1",
                    expected: "mlp 20-4-2-1"
                ) && text.contains("checkpoint has mlp 18-4-2-1, config says mlp 20-4-2-1")
        }
        #expect((try? store.loadNewest(expectedShape: "mlp 18-4-2-1"))??.checkpoint.sequence == 2)
    }

    @Test("a failed write leaves no temporary file and the previous checkpoints intact")
    func failedWrite() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory, keep: 2)
        try store.write(makeCheckpoint(sequence: 1))
        try store.write(makeCheckpoint(sequence: 2))
        let before = try fileNames(in: directory).map {
            try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0))
        }

        // A non-empty directory squatting on the final name makes the rename fail (EISDIR or
        // ENOTEMPTY) after the temporary file was written, whatever the caller's privileges.
        let squatter = directory + "/" + CheckpointStore.fileName(sequence: 3)
        try FileManager.default.createDirectory(atPath: squatter + "/inside", withIntermediateDirectories: true)
        #expect {
            try store.write(makeCheckpoint(sequence: 3))
        } throws: { error in
            guard case .writeFailed(let path, _) = error as? CheckpointError else { return false }
            return path == squatter && "\(error)".hasPrefix("Failed to write checkpoint '\(squatter)': ")
        }
        try FileManager.default.removeItem(atPath: squatter)
        let after = try fileNames(in: directory)
        #expect(after == ["checkpoint-000000000001.slck", "checkpoint-000000000002.slck"])
        #expect(try after.map { try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0)) } == before)
        #expect(try store.loadNewest(expectedShape: nil)?.checkpoint.sequence == 2)
    }

    @Test("a write into a missing directory fails with the system's reason")
    func missingDirectory() throws {
        let directory = NSTemporaryDirectory() + "streamlearn-missing-" + UUID().uuidString
        let store = CheckpointStore(directory: directory, keep: 2)
        let expectedPath = directory + "/checkpoint-000000000001.slck"
        #expect(throws: CheckpointError.writeFailed(path: expectedPath, reason: "No such file or directory")) {
            try store.write(makeCheckpoint(sequence: 1))
        }
        #expect(
            "\(CheckpointError.writeFailed(path: expectedPath, reason: "No such file or directory"))"
                == "Failed to write checkpoint '\(expectedPath)': No such file or directory"
        )
        #expect(throws: CheckpointError.directoryUnavailable(path: directory, reason: "No such file or directory")) {
            try store.loadNewest(expectedShape: nil)
        }
        try store.prepareDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try store.write(makeCheckpoint(sequence: 1)) == expectedPath)
    }

    @Test("a write into a read-only directory fails and leaves it as it was")
    func readOnlyDirectory() throws {
        let directory = try makeTemporaryDirectory()
        defer {
            chmod(directory, 0o755)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let store = CheckpointStore(directory: directory, keep: 2)
        try store.write(makeCheckpoint(sequence: 1))
        chmod(directory, 0o555)
        // Root ignores directory permissions; then the write succeeds and there is nothing to check.
        if getuid() != 0 {
            #expect(throws: CheckpointError.self) { try store.write(makeCheckpoint(sequence: 2)) }
            #expect(try fileNames(in: directory) == ["checkpoint-000000000001.slck"])
        }
    }

    @Test("ignores and removes temporary files a crashed writer left")
    func staleTemporaryFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory, keep: 2)
        try store.write(makeCheckpoint(sequence: 1))
        let stale = directory + "/.checkpoint-000000000002.slck.99999.tmp"
        try Data(CheckpointCodec.encode(makeCheckpoint(sequence: 2)).prefix(64)).write(to: URL(fileURLWithPath: stale))

        let readOnly = try #require(try store.loadNewest(expectedShape: nil, removingStaleFiles: false))
        #expect(readOnly.checkpoint.sequence == 1 && readOnly.skipped.isEmpty)
        #expect(FileManager.default.fileExists(atPath: stale))
        let loaded = try #require(try store.loadNewest(expectedShape: nil))
        #expect(loaded.checkpoint.sequence == 1)
        #expect(try fileNames(in: directory) == ["checkpoint-000000000001.slck"])
    }

    @Test("reads single files, telling unreadable from damaged")
    func singleFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = directory + "/nope.slck"
        #expect(throws: CheckpointError.unreadable(path: missing, reason: "No such file or directory")) {
            try CheckpointStore.read(path: missing)
        }
        #expect(CheckpointError.unreadable(path: missing, reason: "x").exitCode == .ioError)
        let text = directory + "/rows.csv"
        try Data("1,2,3\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: CheckpointError.damaged(path: text, .notACheckpoint)) {
            try CheckpointStore.read(path: text)
        }
        #expect(CheckpointError.damaged(path: text, .notACheckpoint).exitCode == .dataError)
        #expect(throws: CheckpointError.unreadable(path: directory, reason: "not a regular file")) {
            try CheckpointStore.read(path: directory)
        }
    }
}
