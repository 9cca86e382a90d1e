/// A parsed JSON document that keeps what `JSONSerialization` loses: the order of object
/// members, duplicate keys, the exact JSON type (a boolean is never a number), and the literal
/// text of every number, so that `32`, `32.0` and `1e400` can be told apart.
///
/// Produced by `JSONParser`; read by the configuration decoder.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a key may appear more than once (the decoder reports it).
    case object([JSONMember])

    /// The JSON type's name as error messages print it ("got string").
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// One `"key": value` pair of a JSON object.
struct JSONMember: Equatable, Sendable {
    var key: String
    var value: JSONValue
}

/// A JSON number as written in the document.
struct JSONNumber: Equatable, Sendable {
    /// The literal text, for example `-0.25` or `1e3`; it always matches JSON's number grammar.
    var literal: String

    /// The nearest `Double`; finite, because the parser rejects literals that overflow.
    var doubleValue: Double { Double(literal) ?? .nan }

    /// The value as an `Int64` when it is a whole number in range (`32`, `32.0` and `3.2e1` all
    /// give 32), else nil. Literals without fraction or exponent are converted exactly, so large
    /// seeds do not lose bits to a detour through `Double`.
    var int64Value: Int64? {
        if isPlainInteger { return Int64(literal) }
        let value = doubleValue
        guard value.rounded(.towardZero) == value, abs(value) <= 9_007_199_254_740_992 else { return nil }
        return Int64(value)
    }

    /// The value as a `UInt64` when it is a non-negative whole number in range, else nil.
    var uint64Value: UInt64? {
        if isPlainInteger, let exact = UInt64(literal) { return exact }
        guard let value = int64Value, value >= 0 else { return nil }
        return UInt64(value)
    }

    /// True when the literal has neither a fraction nor an exponent.
    var isPlainInteger: Bool {
        !literal.utf8.contains { byte in
            byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        }
    }
}
