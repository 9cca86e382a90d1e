/// The checkpoint file format: `Checkpoint` to bytes and back, bit for bit.
///
/// Layout, all integers little-endian:
///
///     header   "SLCK", format version (u32), total file length in bytes (u64)
///     sections tag (4 ASCII bytes), payload length (u64), payload; in this order:
///              CKPT sequence (i64)
///              SHAP model kind (u8), input count (i64), hidden sizes (u32 count, i64 each),
///                   dropout rates (u32 count, f32 bit patterns)
///              PARM parameters (u64 count, f32 bit patterns)
///              OPTM optimizer kind (u8), learning rate, beta1, beta2, epsilon (f32 each),
///                   step (i64), first and second moments (u64 count, f32 each)
///              STDZ enabled (u8 0/1), count (i64), means and squared deviations
///                   (u64 count, f64 bit patterns each)
///              GENR generator state (u32 count, u64 each)
///              CNTR records trained (i64), batches trained (i64)
///              OFFS u32 count, then per partition, sorted: topic (u16 length, UTF-8),
///                   partition (i32), next offset (i64)
///              META u32 count, then per entry, sorted by key: key and value (u32 length, UTF-8)
///     trailer  CRC-32C (u32) of every byte before it
///
/// Floats are stored by bit pattern, so NaN payloads and negative zeros survive. Decoding checks
/// the magic, the version, the length, the checksum, and then every count and length against
/// the bytes actually present before it allocates anything, so no damaged or crafted file can
/// make it allocate more than the file's own size or read out of bounds. Encoding is
/// deterministic: equal checkpoints give equal bytes. Stateless and thread-safe.
public enum CheckpointCodec {
    /// The four bytes every checkpoint starts with.
    public static let magic: [UInt8] = Array("SLCK".utf8)
    /// The format this build writes and reads.
    public static let formatVersion: UInt32 = 1
    /// Header bytes: magic, version, total length.
    public static let headerSize = 16
    /// Trailer bytes: the checksum.
    public static let trailerSize = 4
    /// The largest file this build reads (1 GiB); a checkpoint of the default MLP is ~0.8 MB.
    public static let maximumFileSize = 1 << 30

    /// What the first bytes of a file say, readable even when the rest is damaged.
    public struct Header: Equatable, Sendable {
        public var formatVersion: UInt32
        /// Total file length the writer recorded, trailer included.
        public var length: Int
    }

    private enum Tag {
        static let sequence = tag("CKPT")
        static let shape = tag("SHAP")
        static let parameters = tag("PARM")
        static let optimizer = tag("OPTM")
        static let standardizer = tag("STDZ")
        static let generator = tag("GENR")
        static let counters = tag("CNTR")
        static let offsets = tag("OFFS")
        static let metadata = tag("META")

        private static func tag(_ text: StaticString) -> UInt32 {
            text.withUTF8Buffer { bytes in
                bytes.reversed().reduce(UInt32(0)) { ($0 << 8) | UInt32($1) }
            }
        }
    }

    // MARK: - Encoding

    /// The bytes of `checkpoint` in the current format version.
    ///
    /// - Precondition: counts and sizes in the model are non-negative and topic names are at
    ///   most 65,535 UTF-8 bytes (Kafka allows 249): a model or a broker never produces others.
    public static func encode(_ checkpoint: Checkpoint) -> [UInt8] {
        let model = checkpoint.model
        var writer = ByteWriter(capacity: estimatedSize(of: checkpoint))
        writer.bytes.append(contentsOf: magic)
        writer.append(formatVersion)
        writer.append(UInt64(0))  // total length, patched below

        writer.section(Tag.sequence) { $0.append(checkpoint.sequence) }
        writer.section(Tag.shape) { writer in
            precondition(model.inputCount >= 0 && model.hiddenSizes.allSatisfy { $0 >= 0 })
            writer.append(model.kind.rawValue)
            writer.append(Int64(model.inputCount))
            writer.append(UInt32(model.hiddenSizes.count))
            for size in model.hiddenSizes { writer.append(Int64(size)) }
            writer.append(UInt32(model.dropoutRates.count))
            for rate in model.dropoutRates { writer.append(rate.bitPattern) }
        }
        writer.section(Tag.parameters) { $0.appendArray(model.parameters) }
        writer.section(Tag.optimizer) { writer in
            let optimizer = model.optimizer
            writer.append(optimizer.kind.rawValue)
            writer.append(optimizer.learningRate.bitPattern)
            writer.append(optimizer.beta1.bitPattern)
            writer.append(optimizer.beta2.bitPattern)
            writer.append(optimizer.epsilon.bitPattern)
            writer.append(optimizer.step)
            writer.appendArray(optimizer.firstMoments)
            writer.appendArray(optimizer.secondMoments)
        }
        writer.section(Tag.standardizer) { writer in
            let standardizer = model.standardizer
            writer.append(UInt8(standardizer.isEnabled ? 1 : 0))
            writer.append(standardizer.count)
            writer.appendArray(standardizer.means)
            writer.appendArray(standardizer.squaredDeviations)
        }
        writer.section(Tag.generator) { writer in
            writer.append(UInt32(model.generatorState.count))
            for word in model.generatorState { writer.append(word) }
        }
        writer.section(Tag.counters) { writer in
            writer.append(model.recordsTrained)
            writer.append(model.batchesTrained)
        }
        writer.section(Tag.offsets) { writer in
            writer.append(UInt32(checkpoint.offsets.count))
            for (topicPartition, offset) in checkpoint.offsets.sorted(by: { $0.key < $1.key }) {
                let topic = Array(topicPartition.topic.utf8)
                precondition(topic.count <= Int(UInt16.max), "topic name longer than 65535 bytes")
                writer.append(UInt16(topic.count))
                writer.bytes.append(contentsOf: topic)
                writer.append(topicPartition.partition)
                writer.append(offset)
            }
        }
        writer.section(Tag.metadata) { writer in
            writer.append(UInt32(checkpoint.metadata.count))
            for (key, value) in checkpoint.metadata.sorted(by: { $0.key < $1.key }) {
                writer.appendText(key)
                writer.appendText(value)
            }
        }

        writer.patch(UInt64(writer.bytes.count + trailerSize), at: 8)
        writer.append(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    private static func estimatedSize(of checkpoint: Checkpoint) -> Int {
        let model = checkpoint.model
        let floats =
            model.parameters.count + model.optimizer.firstMoments.count
            + model.optimizer.secondMoments.count
        return 1024 + 4 * floats + 16 * model.standardizer.means.count + 64 * checkpoint.offsets.count
            + checkpoint.metadata.reduce(0) { $0 + 8 + $1.key.utf8.count + $1.value.utf8.count }
    }

    // MARK: - Decoding

    /// Reads the header: magic, version and recorded length, without checking the rest.
    public static func header(of bytes: UnsafeRawBufferPointer) throws(CheckpointError.Damage) -> Header {
        let magicLength = magic.count
        let prefix = Array(bytes.prefix(magicLength))
        guard prefix == Array(magic.prefix(prefix.count)) else { throw .notACheckpoint }
        guard bytes.count >= headerSize else {
            throw .truncated(expectedBytes: headerSize + trailerSize, actualBytes: bytes.count)
        }
        let version = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let length = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        return Header(formatVersion: version, length: Int(clamping: length))
    }

    /// Decodes a whole checkpoint file, verifying everything the format lets it verify.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError.Damage) -> Checkpoint {
        guard bytes.count <= maximumFileSize else {
            throw .tooLarge(bytes: bytes.count, limit: maximumFileSize)
        }
        let header = try header(of: bytes)
        guard header.formatVersion == formatVersion else {
            throw .unsupportedVersion(found: header.formatVersion, supported: formatVersion)
        }
        guard bytes.count >= headerSize + trailerSize, header.length == bytes.count else {
            throw .truncated(expectedBytes: max(header.length, headerSize + trailerSize), actualBytes: bytes.count)
        }
        let body = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - trailerSize)])
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: body.count, as: UInt32.self))
        let computed = CRC32C.checksum(body)
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }

        var reader = ByteReader(bytes: body, position: headerSize)
        return try decodeSections(&reader)
    }

    /// Decodes a whole checkpoint file held in an array.
    public static func decode(_ bytes: [UInt8]) throws(CheckpointError.Damage) -> Checkpoint {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(CheckpointError.Damage) in try decode(buffer) }
        }
        return try result.get()
    }

    private static func decodeSections(_ file: inout ByteReader) throws(CheckpointError.Damage) -> Checkpoint {
        var section = try file.section(Tag.sequence, "CKPT")
        let sequence = try section.read(Int64.self)
        try section.finish()

        section = try file.section(Tag.shape, "SHAP")
        guard let kind = ModelState.Kind(rawValue: try section.read(UInt8.self)) else {
            throw section.malformed("unknown model kind")
        }
        let inputCount = try section.readSize(Int64.self, "input count")
        let hiddenCount = try section.readCount(UInt32.self, elementSize: 8)
        var hiddenSizes: [Int] = []
        hiddenSizes.reserveCapacity(hiddenCount)
        for _ in 0..<hiddenCount { hiddenSizes.append(try section.readSize(Int64.self, "hidden size")) }
        let dropoutCount = try section.readCount(UInt32.self, elementSize: 4)
        var dropoutRates: [Float] = []
        dropoutRates.reserveCapacity(dropoutCount)
        for _ in 0..<dropoutCount { dropoutRates.append(Float(bitPattern: try section.read(UInt32.self))) }
        try section.finish()

        section = try file.section(Tag.parameters, "PARM")
        let parameters: [Float] = try section.readArray()
        try section.finish()

        section = try file.section(Tag.optimizer, "OPTM")
        guard let optimizerKind = OptimizerState.Kind(rawValue: try section.read(UInt8.self)) else {
            throw section.malformed("unknown optimizer kind")
        }
        let learningRate = Float(bitPattern: try section.read(UInt32.self))
        let beta1 = Float(bitPattern: try section.read(UInt32.self))
        let beta2 = Float(bitPattern: try section.read(UInt32.self))
        let epsilon = Float(bitPattern: try section.read(UInt32.self))
        let step = try section.read(Int64.self)
        let firstMoments: [Float] = try section.readArray()
        let secondMoments: [Float] = try section.readArray()
        try section.finish()

        section = try file.section(Tag.standardizer, "STDZ")
        let enabledFlag = try section.read(UInt8.self)
        guard enabledFlag <= 1 else { throw section.malformed("enabled flag is \(enabledFlag), not 0 or 1") }
        let standardizedCount = try section.read(Int64.self)
        let means: [Double] = try section.readArray()
        let squaredDeviations: [Double] = try section.readArray()
        try section.finish()

        section = try file.section(Tag.generator, "GENR")
        let wordCount = try section.readCount(UInt32.self, elementSize: 8)
        var generatorState: [UInt64] = []
        generatorState.reserveCapacity(wordCount)
        for _ in 0..<wordCount { generatorState.append(try section.read(UInt64.self)) }
        try section.finish()

        section = try file.section(Tag.counters, "CNTR")
        let recordsTrained = try section.read(Int64.self)
        let batchesTrained = try section.read(Int64.self)
        try section.finish()

        section = try file.section(Tag.offsets, "OFFS")
        let offsets = try decodeOffsets(&section)
        try section.finish()

        section = try file.section(Tag.metadata, "META")
        let metadata = try decodeMetadata(&section)
        try section.finish()

        guard file.isAtEnd else { throw file.malformed("\(file.remaining) bytes after the last section") }

        let model = ModelState(
            kind: kind,
            inputCount: inputCount,
            hiddenSizes: hiddenSizes,
            dropoutRates: dropoutRates,
            parameters: parameters,
            optimizer: OptimizerState(
                kind: optimizerKind,
                learningRate: learningRate,
                beta1: beta1,
                beta2: beta2,
                epsilon: epsilon,
                step: step,
                firstMoments: firstMoments,
                secondMoments: secondMoments
            ),
            standardizer: StandardizerState(
                isEnabled: enabledFlag == 1,
                count: standardizedCount,
                means: means,
                squaredDeviations: squaredDeviations
            ),
            generatorState: generatorState,
            recordsTrained: recordsTrained,
            batchesTrained: batchesTrained
        )
        return Checkpoint(sequence: sequence, model: model, offsets: offsets, metadata: metadata)
    }

    private static func decodeOffsets(
        _ section: inout ByteReader
    ) throws(CheckpointError.Damage) -> [TopicPartition: Int64] {
        // Smallest entry: empty topic name (2) + partition (4) + offset (8).
        let count = try section.readCount(UInt32.self, elementSize: 14)
        var offsets: [TopicPartition: Int64] = [:]
        offsets.reserveCapacity(count)
        for _ in 0..<count {
            let topicLength = Int(try section.read(UInt16.self))
            let topic = try section.readText(byteCount: topicLength, "topic name")
            let partition = try section.read(Int32.self)
            let offset = try section.read(Int64.self)
            let key = TopicPartition(topic: topic, partition: partition)
            guard offsets.updateValue(offset, forKey: key) == nil else {
                throw section.malformed("partition \(key) appears twice")
            }
        }
        return offsets
    }

    private static func decodeMetadata(_ section: inout ByteReader) throws(CheckpointError.Damage) -> [String: String] {
        // Smallest entry: two empty strings with their 4-byte lengths.
        let count = try section.readCount(UInt32.self, elementSize: 8)
        var metadata: [String: String] = [:]
        metadata.reserveCapacity(count)
        for _ in 0..<count {
            let key = try section.readText(byteCount: Int(try section.read(UInt32.self)), "metadata key")
            let value = try section.readText(byteCount: Int(try section.read(UInt32.self)), "metadata value")
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw section.malformed("metadata key '\(key)' appears twice")
            }
        }
        return metadata
    }
}

/// Appends little-endian values to a byte array; used only by the encoder.
private struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func append<Value: FixedWidthInteger>(_ value: Value) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func appendArray(_ values: [Float]) {
        append(UInt64(values.count))
        for value in values { append(value.bitPattern) }
    }

    mutating func appendArray(_ values: [Double]) {
        append(UInt64(values.count))
        for value in values { append(value.bitPattern) }
    }

    mutating func appendText(_ text: String) {
        let utf8 = Array(text.utf8)
        append(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func patch(_ value: UInt64, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { source in
            for index in 0..<source.count { bytes[offset + index] = source[index] }
        }
    }

    /// Writes a tagged section whose length is known only once `body` has written it.
    mutating func section(_ tag: UInt32, _ body: (inout ByteWriter) -> Void) {
        append(tag)
        let lengthOffset = bytes.count
        append(UInt64(0))
        body(&self)
        patch(UInt64(bytes.count - lengthOffset - 8), at: lengthOffset)
    }
}

/// Reads little-endian values from a bounded region, failing instead of reading past its end.
private struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    var end: Int
    /// Section name for messages ("PARM"), or "file" for the top level.
    var name = "file"

    init(bytes: UnsafeRawBufferPointer, position: Int) {
        self.bytes = bytes
        self.position = position
        self.end = bytes.count
    }

    var remaining: Int { end - position }
    var isAtEnd: Bool { position == end }

    func malformed(_ detail: String) -> CheckpointError.Damage {
        .malformed("\(name) at byte \(position): \(detail)")
    }

    mutating func read<Value: FixedWidthInteger>(_ type: Value.Type) throws(CheckpointError.Damage) -> Value {
        let size = MemoryLayout<Value>.size
        guard remaining >= size else { throw malformed("needs \(size) more bytes, \(remaining) left") }
        let value = Value(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: Value.self))
        position += size
        return value
    }

    /// Reads a count and checks that `count * elementSize` bytes are actually left.
    mutating func readCount<Count: FixedWidthInteger>(
        _ type: Count.Type,
        elementSize: Int
    ) throws(CheckpointError.Damage) -> Int {
        let count = try read(type)
        guard count >= 0, UInt64(count) <= UInt64(remaining / elementSize) else {
            throw malformed("count \(count) needs more than the \(remaining) bytes left")
        }
        return Int(count)
    }

    /// Reads a non-negative size (input count, layer width) that must fit in an Int32.
    mutating func readSize(_ type: Int64.Type, _ what: String) throws(CheckpointError.Damage) -> Int {
        let value = try read(type)
        guard value >= 0, value <= Int64(Int32.max) else { throw malformed("\(what) \(value) is out of range") }
        return Int(value)
    }

    mutating func readArray() throws(CheckpointError.Damage) -> [Float] {
        let count = try readCount(UInt64.self, elementSize: 4)
        var values: [Float] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(Float(bitPattern: try read(UInt32.self))) }
        return values
    }

    mutating func readArray() throws(CheckpointError.Damage) -> [Double] {
        let count = try readCount(UInt64.self, elementSize: 8)
        var values: [Double] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(Double(bitPattern: try read(UInt64.self))) }
        return values
    }

    mutating func readText(byteCount: Int, _ what: String) throws(CheckpointError.Damage) -> String {
        guard byteCount <= remaining else {
            throw malformed("\(what) of \(byteCount) bytes needs more than the \(remaining) left")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + byteCount)])
        guard let text = String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw malformed("\(what) is not valid UTF-8")
        }
        position += byteCount
        return text
    }

    /// Reads the next section header, which must carry `tag`, and returns a reader confined to
    /// its payload; the file reader moves past it.
    mutating func section(_ tag: UInt32, _ tagName: String) throws(CheckpointError.Damage) -> ByteReader {
        let found = try read(UInt32.self)
        guard found == tag else { throw malformed("expected section \(tagName)") }
        let length = try read(UInt64.self)
        guard length <= UInt64(remaining) else {
            throw malformed("section \(tagName) of \(length) bytes needs more than the \(remaining) left")
        }
        var payload = self
        payload.end = position + Int(length)
        payload.name = tagName
        position = payload.end
        return payload
    }

    /// Requires that the section's payload was read to its last byte.
    func finish() throws(CheckpointError.Damage) {
        guard isAtEnd else { throw malformed("\(remaining) unexpected bytes at the end of the section") }
    }
}
