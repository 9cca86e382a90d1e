import Foundation
import Testing

@testable import StreamLearnCore

/// Decodes text with `decoder`; the key is nil when `key` is nil.
private func decode(
    _ value: String?,
    key: String? = "1",
    with decoder: RecordDecoder
) -> Result<(features: [Float], label: Float?), DecodeFailure> {
    decode(value.map { Array($0.utf8) }, key: key.map { Array($0.utf8) }, with: decoder)
}

private func decode(
    _ value: [UInt8]?,
    key: [UInt8]?,
    with decoder: RecordDecoder
) -> Result<(features: [Float], label: Float?), DecodeFailure> {
    var features = [Float](repeating: .nan, count: decoder.featureCount)
    let label = features.withUnsafeMutableBufferPointer { row in
        withOptionalBytes(key) { key in
            withOptionalBytes(value) { value in
                Result { () throws(DecodeFailure) in try decoder.decode(key: key, value: value, into: row) }
            }
        }
    }
    return label.map { (features, $0) }
}

private func withOptionalBytes<T>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

private func parse(_ text: String) -> DecimalFloatParser.Outcome {
    var bytes = Array(text.utf8)
    bytes.append(0)  // so that an empty string still has a valid base address
    return bytes.withUnsafeBufferPointer { DecimalFloatParser.parse($0.baseAddress!, count: $0.count - 1) }
}

/// What strtof (through Float(String)) says, in the parser's terms.
private func reference(_ text: String) -> DecimalFloatParser.Outcome {
    guard let value = Float(text) else { return .notANumber }
    return value.isFinite ? .value(value) : .notFinite
}

/// Bit-exact comparison, so that -0 differs from 0.
private func sameBits(_ lhs: DecimalFloatParser.Outcome, _ rhs: DecimalFloatParser.Outcome) -> Bool {
    switch (lhs, rhs) {
    case (.value(let a), .value(let b)): a.bitPattern == b.bitPattern
    default: lhs == rhs
    }
}

/// The exact decimal expansion of a positive finite Double (every Double has one).
private func exactDecimal(_ value: Double) -> String {
    var significand = value.significandBitPattern | (value.isNormal ? 1 << 52 : 0)
    var exponent = Int(value.exponent) - 52
    if !value.isNormal { exponent = -1074 }
    while significand != 0, significand & 1 == 0 {
        significand >>= 1
        exponent += 1
    }
    var digits = String(significand).utf8.reversed().map { Int($0) - 48 }  // least significant first
    func multiply(by factor: Int) {
        var carry = 0
        for index in digits.indices {
            let product = digits[index] * factor + carry
            digits[index] = product % 10
            carry = product / 10
        }
        while carry > 0 {
            digits.append(carry % 10)
            carry /= 10
        }
    }
    if exponent >= 0 {
        for _ in 0..<exponent { multiply(by: 2) }
        return String(digits.reversed().map { Character(String($0)) })
    }
    for _ in 0..<(-exponent) { multiply(by: 5) }
    while digits.count <= -exponent { digits.append(0) }
    let text = String(digits.reversed().map { Character(String($0)) })
    let point = text.index(text.endIndex, offsetBy: exponent)
    return text[..<point] + "." + text[point...]
}

@Suite("Decimal float parser")
struct DecimalFloatParserTests {
    @Test(
        "parses the forms strtof accepts, bit for bit",
        arguments: [
            "0", "-0", "+0", "0.0", "1", "-1", "+1.5", ".5", "5.", "-.25", "007", "0.1", "0.3",
            "1e10", "1E-5", "2.5e+3", "123456789", "16777217", "0.000001", "1e-10", "9.999999e-11",
            "3.4028235e38", "3.4028236e38", "3.40282356e38", "1.17549435e-38", "1.1754942e-38",
            "1e-45", "1.4e-45", "7.1e-46", "7e-46", "1e-46", "1e-50", "0e999", "0.000e-99999",
            "0.1000000000000000000000000000001", "1.00000005960464477539062500000000000001",
            "1.000000059604644775390625", "0.99999997019767761230468749999999999",
            "0.8299959897994995", "0.9727185368537903", "-1.1345609426498413", "12345678901234567890123",
            "1" + String(repeating: "0", count: 300) + "e-300",
            "0." + String(repeating: "0", count: 300) + "1e300",
            "4.2e0000000000000000000000000000001",
        ]
    )
    func matchesStrtof(text: String) {
        let found = parse(text)
        #expect(sameBits(found, reference(text)), "\(text): \(found) vs \(reference(text))")
    }

    @Test(
        "refuses malformed text",
        arguments: [
            "", "-", "+", ".", "-.", "e5", "1e", "1e+", "1e-", "1.2.3", "1,2", "0x1p3", "1_000", " 1",
            "1 ", "--1", "+-1", "1e5.5", "1ee5", "nanx", "infinit", "abc", "1d", "١",
        ]
    )
    func malformed(text: String) {
        #expect(parse(text) == .notANumber, "\(text)")
    }

    @Test(
        "calls NaN, infinities and overflow not finite",
        arguments: [
            "nan", "NaN", "-nan", "inf", "-INF", "+Infinity", "infinity", "1e39", "-1e39", "3.4028236e39",
            "3.40282357e38", "340282356779733661637539395458142568448", "1e100000000",
        ]
    )
    func notFinite(text: String) {
        #expect(parse(text) == .notFinite, "\(text)")
    }

    @Test("rounds exact halfway points to even and their neighbours to the nearest")
    func halfwayPoints() {
        var generator = DecoderTestGenerator(seed: 99)
        var checked = 0
        for trial in 0..<600 {
            // Adjacent Floats across the whole range, subnormals and the largest included.
            let bits: UInt32
            switch trial % 6 {
            case 0: bits = UInt32.random(in: 1...0x7F7F_FFFE, using: &generator)
            case 1: bits = UInt32.random(in: 1...0x00FF_FFFF, using: &generator)
            case 2: bits = UInt32.random(in: 0x7F00_0000...0x7F7F_FFFE, using: &generator)
            case 3: bits = UInt32.random(in: 0x3F00_0000...0x4100_0000, using: &generator)
            case 4: bits = 0x7F7F_FFFF  // the largest Float: its upper halfway point overflows
            default: bits = UInt32(trial / 6)  // the smallest subnormals
            }
            let low = Float(bitPattern: bits)
            let halfway = (Double(low) + Double(low.nextUp)) / 2
            let exact = exactDecimal(halfway)
            let below = exact.hasSuffix("5") ? String(exact.dropLast()) + "4999999999999" : exact + "e0"
            for text in [exact, exact + "0000000000000000001", below, "\(halfway)", "\(halfway.nextUp)"] {
                #expect(sameBits(parse(text), reference(text)), "\(text)")
                checked += 1
            }
        }
        #expect(checked == 3000)
    }

    @Test("agrees with strtof on random decimal text")
    func randomText() {
        var generator = DecoderTestGenerator(seed: 1)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let digitCount = Int.random(in: 1...(Bool.random(using: &generator) ? 9 : 30), using: &generator)
            var digits = (0..<digitCount).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
            if Int.random(in: 0..<4, using: &generator) == 0 {
                let point = Int.random(in: 0...digits.count, using: &generator)
                digits.insert(".", at: digits.index(digits.startIndex, offsetBy: point))
            }
            var text = (Bool.random(using: &generator) ? "-" : "") + digits
            if Bool.random(using: &generator) { text += "e\(Int.random(in: -75...45, using: &generator))" }
            if !sameBits(parse(text), reference(text)) { mismatches.append(text) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test("agrees with strtof on the shortest text of random Floats and Doubles")
    func shortestText() {
        var generator = DecoderTestGenerator(seed: 5)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let float = Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &generator))
            let double = Double(
                bitPattern: UInt64.random(in: 0x3800_0000_0000_0000...0x47F0_0000_0000_0000, using: &generator)
            )
            for text in ["\(float)", "\(double)", "\(-double)"] where !sameBits(parse(text), reference(text)) {
                mismatches.append(text)
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }
}

@Suite("Record decoder")
struct RecordDecoderTests {
    let tutorial = RecordDecoder(featureCount: 3)

    @Test("decodes the tutorial format: CSV features in the value, label in the key")
    func keyLabel() throws {
        let decoded = try decode("1.5,-2,3e-2\n", key: "1", with: tutorial).get()
        #expect(decoded.features == [1.5, -2, 0.03])
        #expect(decoded.label == 1)
    }

    @Test(
        "reads labels written as 0, 1, 0.0, 1.0 with spaces or a newline",
        arguments: [
            ("0", 0), ("1", 1), ("0.0", 0), ("1.0", 1), (" 1 ", 1), ("1\n", 1), ("\t0\r\n", 0), ("-0", 0), ("1e0", 1),
        ] as [(String, Float)]
    )
    func keyLabels(key: String, expected: Float) throws {
        let label = try #require(try decode("1,2,3", key: key, with: tutorial).get().label)
        #expect(label.bitPattern == expected.bitPattern)
    }

    @Test("refuses a missing or non-binary key label", arguments: [nil, "", " ", "2", "0.5", "yes", "1,0", "nan"])
    func badKeyLabels(key: String?) {
        #expect(throws: DecodeFailure.badLabel(field: nil)) { try decode("1,2,3", key: key, with: tutorial).get() }
    }

    @Test("takes the label from a value field when told to")
    func columnLabel() throws {
        let first = RecordDecoder(featureCount: 3, label: .column(0))
        #expect(first.fieldCount == 4)
        let decoded = try decode("1,0.5,0.25,4", key: nil, with: first).get()
        #expect(decoded.features == [0.5, 0.25, 4])
        #expect(decoded.label == 1)
        let last = RecordDecoder(featureCount: 3, label: .column(3))
        #expect(try decode("0.5,0.25,4,0.0", key: "junk", with: last).get().label == 0)
        #expect(throws: DecodeFailure.badLabel(field: 0)) { try decode("x,1,2,3", key: nil, with: first).get() }
        #expect(throws: DecodeFailure.badLabel(field: 3)) { try decode("1,2,3,0.5", key: nil, with: last).get() }
    }

    @Test("reads prediction input without a label")
    func noLabel() throws {
        let decoder = RecordDecoder(featureCount: 2, label: .none)
        let decoded = try decode("4,5", key: nil, with: decoder).get()
        #expect(decoded.features == [4, 5])
        #expect(decoded.label == nil)
    }

    @Test("tolerates spaces and tabs around fields and CRLF line ends")
    func whitespace() throws {
        #expect(try decode(" 1 ,\t2\t, 3  \r\n", with: tutorial).get().features == [1, 2, 3])
        #expect(try decode("1,2,3\r", with: tutorial).get().features == [1, 2, 3])
    }

    @Test("calls null, empty and blank values empty", arguments: [nil, "", "\n", "\r\n", "   ", " \t \r\n"])
    func empty(value: String?) {
        #expect(throws: DecodeFailure.empty) { try decode(value, with: tutorial).get() }
    }

    @Test("refuses values over the size limit before reading them")
    func oversized() throws {
        let decoder = RecordDecoder(featureCount: 3, maxValueBytes: 16)
        #expect(try decode("1.25,2.5,3.75000", with: decoder).get().features == [1.25, 2.5, 3.75])
        #expect(throws: DecodeFailure.oversized(bytes: 17, limit: 16)) {
            try decode("1.25,2.5,3.750000", with: decoder).get()
        }
        let big = String(repeating: "1,", count: 40_000) + "1"
        #expect(throws: DecodeFailure.oversized(bytes: 80_001, limit: 65_536)) { try decode(big, with: tutorial).get() }
    }

    @Test(
        "counts the fields of a line with too few or too many",
        arguments: [
            ("1,2", 2), ("1,2,3,4", 4), ("1,2,3,", 4), (",", 2), ("1", 1), ("a,b", 2), ("1,2,3,x", 4), ("1,,,,", 5),
        ] as [(String, Int)]
    )
    func wrongFieldCount(value: String, found: Int) {
        #expect(throws: DecodeFailure.wrongFieldCount(expected: 3, found: found)) {
            try decode(value, with: tutorial).get()
        }
    }

    @Test(
        "names the first field that is not a number",
        arguments: [
            ("1,abc,3", 1), ("1,,3", 1), ("x,y,z", 0), ("1,2 3,4", 1), ("1,2,0x10", 2), ("1,2,3;", 2), ("\"1\",2,3", 0),
        ] as [(String, Int)]
    )
    func notANumber(value: String, field: Int) {
        #expect(throws: DecodeFailure.notANumber(field: field)) { try decode(value, with: tutorial).get() }
    }

    @Test(
        "refuses NaN, infinities and numbers beyond Float",
        arguments: [
            ("nan,1,2", 0), ("1,inf,2", 1), ("1,2,-Infinity", 2), ("1,1e39,2", 1), ("1,2,NaN", 2),
        ] as [(String, Int)]
    )
    func notFinite(value: String, field: Int) {
        #expect(throws: DecodeFailure.notFinite(field: field)) { try decode(value, with: tutorial).get() }
    }

    @Test("checks the value before the key")
    func order() {
        #expect(throws: DecodeFailure.notANumber(field: 2)) { try decode("1,2,x", key: "7", with: tutorial).get() }
    }

    @Test("describes failures with the offending text, counting fields from 1")
    func descriptions() {
        func describe(_ value: String, key: String? = "1", _ decoder: RecordDecoder? = nil) -> String {
            let decoder = decoder ?? tutorial
            guard case .failure(let failure) = decode(value, key: key, with: decoder) else { return "decoded" }
            return withOptionalBytes(key.map { Array($0.utf8) }) { key in
                Array(value.utf8).withUnsafeBytes { failure.description(key: key, value: $0) }
            }
        }
        #expect(describe("1, abc ,3\n") == "field 2 is not a number: 'abc'")
        #expect(describe("1,2,nan") == "field 3 is not a finite number: 'nan'")
        #expect(describe("1,2") == "expected 3 fields, found 2")
        #expect(describe("1,2,3", key: "yes") == "label (the message key) is not 0 or 1: 'yes'")
        #expect(describe("1,2,3", key: nil) == "label is missing (the message key is null)")
        #expect(describe("2,1,2,3", .init(featureCount: 3, label: .column(0))) == "label field 1 is not 0 or 1: '2'")
        #expect(describe("1,2,\u{1}x'") == "field 3 is not a number: '\\x01x\\x27'")
        let long = String(repeating: "z", count: 50)
        #expect(
            describe("1,2," + long) == "field 3 is not a number: '\(String(repeating: "z", count: 40))' (50 bytes, cut)"
        )
        #expect(
            DecodeFailure.oversized(bytes: 70_000, limit: 65_536).description
                == "value is 70000 bytes, more than the limit of 65536"
        )
        #expect(DecodeFailure.empty.description == "value is empty")
    }

    @Test("has stable reason names for headers and metrics")
    func reasons() {
        let failures: [DecodeFailure] = [
            .empty, .oversized(bytes: 2, limit: 1), .wrongFieldCount(expected: 1, found: 2), .notANumber(field: 0),
            .notFinite(field: 0), .badLabel(field: nil),
        ]
        #expect(failures.map(\.reason) == DecodeFailure.reasons)
        #expect(
            DecodeFailure.reasons == [
                "empty", "oversized", "wrong_field_count", "not_a_number", "not_finite", "bad_label",
            ]
        )
    }

    @Test("decodes every number as Float(String) does in generated lines")
    func generatedLines() throws {
        var generator = DecoderTestGenerator(seed: 3)
        let decoder = RecordDecoder(featureCount: 18, label: .column(0))
        for _ in 0..<2000 {
            let features = (0..<18).map { _ in
                String(
                    format: "%.*g",
                    Int.random(in: 1...17, using: &generator),
                    Double.random(in: -1e6...1e6, using: &generator)
                )
            }
            let label = Bool.random(using: &generator) ? "1" : "0"
            let decoded = try decode(([label] + features).joined(separator: ",") + "\n", key: nil, with: decoder).get()
            #expect(decoded.features.map(\.bitPattern) == features.map { Float($0)!.bitPattern })
            #expect(decoded.label == Float(label))
        }
    }

    @Test("never crashes on random bytes, and whatever it accepts is finite")
    func randomBytes() {
        var generator = DecoderTestGenerator(seed: 17)
        let alphabet = Array("0123456789,,,..eE-+ \t\r\nnaif".utf8)
        let tokens = ["1", "0", " -2.5 ", "1e3", "", " ", "nan", "x", "1e40", "0.1\r\n", "7.", "-0"]
        let keys = ["0", "1", " 1 ", "2", "", "x", "1.0"]
        let decoders = [tutorial, RecordDecoder(featureCount: 2, label: .column(1), maxValueBytes: 64)]
        var accepted = 0
        for trial in 0..<30_000 {
            let value: [UInt8]
            switch trial % 3 {
            case 0:
                value = (0..<Int.random(in: 0...80, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
            case 1:
                value = (0..<Int.random(in: 0...80, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator)!
                }
            default:
                // Lines of plausible tokens, so that some are accepted and most fail late.
                let fields = (0..<Int.random(in: 1...4, using: &generator)).map { _ in
                    tokens.randomElement(using: &generator)!
                }
                value = Array(fields.joined(separator: ",").utf8)
            }
            let key: [UInt8]? = trial % 7 == 0 ? nil : Array(keys.randomElement(using: &generator)!.utf8)
            for decoder in decoders {
                if case .success(let decoded) = decode(value, key: key, with: decoder) {
                    accepted += 1
                    #expect(decoded.features.allSatisfy { $0.isFinite })
                    #expect(decoded.label == 0 || decoded.label == 1)
                }
            }
        }
        #expect(accepted > 0)
    }
}

/// A deterministic generator for decoder tests (SplitMix64).
private struct DecoderTestGenerator: RandomNumberGenerator {
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
