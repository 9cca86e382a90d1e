/// Why a record could not be decoded. `reason` is the stable name that dead-letter headers and
/// metric keys use; `description` is for people.
///
/// Field indices are 0-based positions in the value's CSV line, as `RecordDecoder.LabelSource`
/// counts them; descriptions count from 1, as people and awk do ("field 1" is the first).
public enum DecodeFailure: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The value is null, empty, or only whitespace.
    case empty
    /// The value is longer than the decoder's limit.
    case oversized(bytes: Int, limit: Int)
    /// The CSV line has another number of fields than the format says.
    case wrongFieldCount(expected: Int, found: Int)
    /// A feature field is not a decimal number.
    case notANumber(field: Int)
    /// A feature field is NaN, infinite, or beyond the range of Float.
    case notFinite(field: Int)
    /// The label (the key, or the value's label field when `field` is set) is not 0 or 1.
    case badLabel(field: Int?)

    /// Every `reason`, in declaration order (for metric registration).
    public static let reasons = ["empty", "oversized", "wrong_field_count", "not_a_number", "not_finite", "bad_label"]

    /// The stable lowercase name of the reason: "empty", "oversized", "wrong_field_count",
    /// "not_a_number", "not_finite", "bad_label".
    public var reason: String {
        switch self {
        case .empty: "empty"
        case .oversized: "oversized"
        case .wrongFieldCount: "wrong_field_count"
        case .notANumber: "not_a_number"
        case .notFinite: "not_finite"
        case .badLabel: "bad_label"
        }
    }

    /// A sentence without the offending text, e.g. "field 8 is not a number".
    public var description: String {
        switch self {
        case .empty:
            "value is empty"
        case .oversized(let bytes, let limit):
            "value is \(bytes) bytes, more than the limit of \(limit)"
        case .wrongFieldCount(let expected, let found):
            "expected \(expected) fields, found \(found)"
        case .notANumber(let field):
            "field \(field + 1) is not a number"
        case .notFinite(let field):
            "field \(field + 1) is not a finite number"
        case .badLabel(let field?):
            "label field \(field + 1) is not 0 or 1"
        case .badLabel(nil):
            "label (the message key) is not 0 or 1"
        }
    }

    /// The description with the offending text quoted, e.g. "field 8 is not a number: 'abc'".
    ///
    /// Pass the bytes that were decoded. Allocates: call it when reporting, not when decoding.
    /// Quoted text is cut at 40 bytes and non-printable bytes are shown as \xNN.
    public func description(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) -> String {
        switch self {
        case .notANumber(let field), .notFinite(let field), .badLabel(let field?):
            guard let text = value.flatMap({ DecodeFailure.field(field, of: $0) }) else { return description }
            return description + ": " + DecodeFailure.quoted(text)
        case .badLabel(nil):
            guard let key else { return "label is missing (the message key is null)" }
            return description + ": " + DecodeFailure.quoted(UnsafeRawBufferPointer(rebasing: key[...]))
        case .empty, .oversized, .wrongFieldCount:
            return description
        }
    }

    /// The bytes of field `index` of a CSV line, spaces around it trimmed, or nil.
    private static func field(_ index: Int, of value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var current = 0
        var start = 0
        for position in 0...value.count {
            let isEnd =
                position == value.count || value[position] == UInt8(ascii: "\n")
                || value[position] == UInt8(ascii: "\r")
            guard isEnd || value[position] == UInt8(ascii: ",") else { continue }
            if current == index {
                var lower = start
                var upper = position
                while lower < upper, value[lower] == 0x20 || value[lower] == 0x09 { lower += 1 }
                while upper > lower, value[upper - 1] == 0x20 || value[upper - 1] == 0x09 { upper -= 1 }
                return UnsafeRawBufferPointer(rebasing: value[lower..<upper])
            }
            if isEnd { return nil }
            current += 1
            start = position + 1
        }
        return nil
    }

    private static func quoted(_ bytes: UnsafeRawBufferPointer) -> String {
        let limit = 40
        var text = "'"
        for byte in bytes.prefix(limit) {
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "'"), byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        text += "'"
        if bytes.count > limit { text += " (\(bytes.count) bytes, cut)" }
        return text
    }
}
