import StreamLearnCore
import Testing

private func text(_ value: Double) -> String {
    let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: DecimalWriter.maximumLength)
    defer { buffer.deallocate() }
    let length = DecimalWriter.write(value, to: buffer)
    return String(decoding: UnsafeBufferPointer(start: buffer, count: length), as: UTF8.self)
}

@Suite("DecimalWriter")
struct DecimalWriterTests {
    @Test(
        "writes short plain decimals with 6 significant digits",
        arguments: [
            (0.0, "0"), (0.25, "0.25"), (-1.2345678, "-1.23457"), (3.0, "3"), (0.000123456, "0.000123"),
            (1234.5678, "1234.57"), (-98765.4321, "-98765.4"), (123456789.4, "123456789"),
            (0.1, "0.1"), (10.0, "10"), (-0.5, "-0.5"),
        ]
    )
    func writesExamples(value: Double, expected: String) {
        #expect(text(value) == expected)
    }

    @Test("carries a rounding into the integer part and never writes a negative zero")
    func roundsAcrossDigits() {
        #expect(text(9.999996) == "10")
        #expect(text(0.9999996) == "1")
        #expect(text(-0.0000001) == "0")
        #expect(text(-0.0) == "0")
    }

    @Test("falls back to Swift's text for huge and non-finite values")
    func fallsBack() {
        #expect(text(1e20) == "1e+20")
        #expect(text(.infinity) == "inf")
        #expect(text(.nan) == "nan")
    }

    @Test("reads back within half a unit of its last digit")
    func roundTrips() throws {
        var random = SyntheticRandom(seed: 1)
        for _ in 0..<2_000 {
            let exponent = Double(random.next() % 12) - 5
            let value = (random.nextOpenUnit() - 0.5) * 2 * pow10(exponent)
            let parsed = try #require(Double(text(value)))
            #expect(abs(parsed - value) <= 5.000001e-7 + 5.000001e-6 * abs(value), "\(value) -> \(text(value))")
        }
    }

    private func pow10(_ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(abs(exponent)) { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }
}
