import Testing

@testable import StreamLearnCore

private func parse(_ text: String) throws(JSONParser.Failure) -> JSONValue {
    try JSONParser.parse(Array(text.utf8))
}

/// The failure message for `bytes`, as "line:column: reason", or nil if they parse.
private func failure(_ bytes: [UInt8]) -> String? {
    do {
        _ = try JSONParser.parse(bytes)
        return nil
    } catch {
        return "\(error.line):\(error.column): \(error.reason)"
    }
}

private func failure(_ text: String) -> String? { failure(Array(text.utf8)) }

@Suite("JSON parser")
struct JSONParserTests {
    @Test("objects keep their members in document order, duplicates included")
    func objectOrder() throws {
        let value = try parse(#"{"b": 1, "a": [true, false, null], "b": "x"}"#)
        guard case .object(let members) = value else {
            Issue.record("expected an object, got \(value.typeName)")
            return
        }
        #expect(members.map(\.key) == ["b", "a", "b"])
        #expect(members[1].value == .array([.bool(true), .bool(false), .null]))
        #expect(members[2].value == .string("x"))
    }

    @Test("a boolean is never a number, and numbers keep their literal")
    func exactTypes() throws {
        #expect(try parse("true") == .bool(true))
        #expect(try parse("1") == .number(JSONNumber(literal: "1")))
        #expect(try parse("-0.25e-3") == .number(JSONNumber(literal: "-0.25e-3")))
        #expect(try parse("1").typeName == "number")
        #expect(try parse("true").typeName == "boolean")
    }

    @Test("whole numbers are read exactly, whatever their spelling")
    func integers() {
        #expect(JSONNumber(literal: "32").int64Value == 32)
        #expect(JSONNumber(literal: "32.0").int64Value == 32)
        #expect(JSONNumber(literal: "3.2e1").int64Value == 32)
        #expect(JSONNumber(literal: "32.5").int64Value == nil)
        #expect(JSONNumber(literal: "18446744073709551615").uint64Value == UInt64.max)
        #expect(JSONNumber(literal: "18446744073709551616").uint64Value == nil)
        #expect(JSONNumber(literal: "-1").uint64Value == nil)
        #expect(JSONNumber(literal: "-0").uint64Value == 0)
    }

    @Test("string escapes decode, surrogate pairs included")
    func escapes() throws {
        #expect(try parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#) == .string("a\"b\\c/d\n\té😀"))
        #expect(try parse("\"直接\"") == .string("直接"))
    }

    @Test("a byte order mark at the start is skipped")
    func byteOrderMark() throws {
        #expect(try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array("[]".utf8)) == .array([]))
    }

    @Test("what is not JSON is refused with line, column and reason")
    func refusals() {
        #expect(failure("{\"a\": 1,}") == "1:9: unexpected '}', expected a key in double quotes")
        #expect(failure("[1, 2,]") == "1:7: unexpected ']', expected a value")
        #expect(failure("{\n  // note\n}") == "2:3: unexpected '/', expected a key in double quotes")
        #expect(failure("[01]") == "1:3: number with a leading zero")
        #expect(failure("[NaN]") == "1:2: unexpected 'N', expected a value")
        #expect(failure("1e400") == "1:1: number 1e400 is out of range")
        #expect(failure("[1.]") == "1:4: unexpected ']', expected a digit after the decimal point")
        #expect(failure("\"a\tb\"") == "1:3: control character 0x09 inside a string; write it as an escape")
        #expect(failure(#""\x""#) == #"1:3: invalid escape '\x' in a string"#)
        #expect(failure(#""\ud83d""#) == #"1:8: unpaired surrogate in \u escape"#)
        #expect(failure("\"abc") == "1:5: unterminated string")
        #expect(failure("{} {}") == "1:4: unexpected '{' after the end of the document")
        #expect(failure("") == "1:1: unexpected end of document, expected a value")
        #expect(failure("tru") == "1:1: unexpected 't', expected a value")
        #expect(failure([UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\"")]) == "1:4: string is not valid UTF-8")
    }

    @Test("nesting deeper than the limit is refused instead of exhausting the stack")
    func depthLimit() {
        let limit = JSONParser.maximumDepth
        #expect(failure(String(repeating: "[", count: limit) + String(repeating: "]", count: limit)) == nil)
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(failure(tooDeep) == "1:\(limit + 1): nesting deeper than \(limit) levels")
    }
}
