/// Turns one Kafka message (CSV features in the value, label in the key or a value field) into
/// a row of Floats and a label, without allocating.
///
/// The value is an ASCII line of comma-separated decimal numbers; spaces and tabs around fields
/// and a trailing "\n" or "\r\n" are tolerated. Numbers are parsed from the bytes and correctly
/// rounded to Float; NaN, infinities and numbers beyond Float's range are refused. The label is
/// 0 or 1, written "0", "1", "0.0", "1.0" (any decimal equal to 0 or 1), spaces allowed. Checks
/// run in this order: empty, oversized, field count, each field left to right, then the key's
/// label; the first failure is thrown. A value type with no state: use it from any thread.
public struct RecordDecoder: Equatable, Sendable {
    /// Where the label comes from.
    public enum LabelSource: Equatable, Hashable, Sendable {
        /// The message key (the tutorial's format and the default).
        case key
        /// Field `index` (0-based) of the value; the other fields are the features, in order.
        case column(Int)
        /// No label: prediction input; every field is a feature.
        case none
    }

    /// The default limit on the value's size: 64 KiB.
    public static let defaultMaxValueBytes = 64 * 1024

    /// Features per record.
    public let featureCount: Int
    public let label: LabelSource
    /// Values longer than this are refused as `oversized` without being read.
    public let maxValueBytes: Int

    /// A decoder for `featureCount` features.
    ///
    /// - Precondition: `featureCount >= 1`, `maxValueBytes >= 1`, and a label column is one of
    ///   the `featureCount + 1` fields (configuration validates the operator's values).
    public init(featureCount: Int, label: LabelSource = .key, maxValueBytes: Int = defaultMaxValueBytes) {
        precondition(featureCount >= 1, "a record needs at least one feature")
        precondition(maxValueBytes >= 1, "the value size limit must be positive")
        if case .column(let index) = label {
            precondition((0...featureCount).contains(index), "label column \(index) is not one of the fields")
        }
        self.featureCount = featureCount
        self.label = label
        self.maxValueBytes = maxValueBytes
    }

    /// Fields a value must have: the features, plus the label when it is a column.
    public var fieldCount: Int {
        if case .column = label { return featureCount + 1 }
        return featureCount
    }

    /// Decodes one message into `features` and returns its label (0 or 1), or nil when the
    /// label source is `.none`.
    ///
    /// `features` must hold exactly `featureCount` Floats; after a failure its contents are
    /// unspecified. `key` and `value` are nil for a null key or value.
    public func decode(
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        into features: UnsafeMutableBufferPointer<Float>
    ) throws(DecodeFailure) -> Float? {
        precondition(features.count == featureCount, "the row must hold featureCount Floats")
        guard let value, let bytes = value.baseAddress?.assumingMemoryBound(to: UInt8.self), value.count > 0
        else { throw .empty }
        guard value.count <= maxValueBytes else { throw .oversized(bytes: value.count, limit: maxValueBytes) }

        var end = value.count
        if bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        if end > 0, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var firstVisible = 0
        while firstVisible < end, RecordDecoder.isBlank(bytes[firstVisible]) { firstVisible += 1 }
        guard firstVisible < end else { throw .empty }

        var labelColumn = -1
        if case .column(let index) = label { labelColumn = index }
        var columnLabel: Float = 0
        var field = 0
        var featureIndex = 0
        var start = 0
        while true {
            var stop = start
            while stop < end, bytes[stop] != UInt8(ascii: ",") { stop += 1 }
            guard field < fieldCount else { throw wrongFieldCount(bytes, end) }
            var lower = start
            var upper = stop
            while lower < upper, RecordDecoder.isBlank(bytes[lower]) { lower += 1 }
            while upper > lower, RecordDecoder.isBlank(bytes[upper - 1]) { upper -= 1 }

            let outcome = DecimalFloatParser.parse(bytes + lower, count: upper - lower)
            if field == labelColumn {
                guard case .value(let number) = outcome, number == 0 || number == 1 else {
                    throw failure(.badLabel(field: field), bytes, end)
                }
                columnLabel = number
            } else {
                switch outcome {
                case .value(let number):
                    features[featureIndex] = number
                case .notANumber:
                    throw failure(.notANumber(field: field), bytes, end)
                case .notFinite:
                    throw failure(.notFinite(field: field), bytes, end)
                }
                featureIndex += 1
            }
            field += 1
            if stop == end { break }
            start = stop + 1
        }
        guard field == fieldCount else { throw .wrongFieldCount(expected: fieldCount, found: field) }

        switch label {
        case .none:
            return nil
        case .column:
            return columnLabel + 0  // + 0 turns a "-0" label into 0
        case .key:
            return try RecordDecoder.keyLabel(key)
        }
    }

    /// A field failure, unless the line has the wrong number of fields: that is the likelier
    /// cause (a shifted column) and the one to report.
    private func failure(_ failure: DecodeFailure, _ bytes: UnsafePointer<UInt8>, _ end: Int) -> DecodeFailure {
        let found = RecordDecoder.countFields(bytes, end)
        return found == fieldCount ? failure : .wrongFieldCount(expected: fieldCount, found: found)
    }

    private func wrongFieldCount(_ bytes: UnsafePointer<UInt8>, _ end: Int) -> DecodeFailure {
        .wrongFieldCount(expected: fieldCount, found: RecordDecoder.countFields(bytes, end))
    }

    private static func countFields(_ bytes: UnsafePointer<UInt8>, _ end: Int) -> Int {
        var count = 1
        for index in 0..<end where bytes[index] == UInt8(ascii: ",") { count += 1 }
        return count
    }

    private static func keyLabel(_ key: UnsafeRawBufferPointer?) throws(DecodeFailure) -> Float {
        guard let key, let bytes = key.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw .badLabel(field: nil)
        }
        var lower = 0
        var upper = key.count
        while lower < upper, isBlankOrNewline(bytes[lower]) { lower += 1 }
        while upper > lower, isBlankOrNewline(bytes[upper - 1]) { upper -= 1 }
        guard case .value(let number) = DecimalFloatParser.parse(bytes + lower, count: upper - lower),
            number == 0 || number == 1
        else { throw .badLabel(field: nil) }
        return number + 0
    }

    @inline(__always)
    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09
    }

    @inline(__always)
    private static func isBlankOrNewline(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
