/// Parses decimal text ("-1.25e-3", "0.5", "7") to the nearest Float, as strtof does but from raw
/// bytes, without allocating, and refusing NaN and infinities.
///
/// Accepted: an optional sign, digits with an optional decimal point (at least one digit),
/// and an optional exponent (`e` or `E`, optional sign, digits). Nothing else: no surrounding
/// spaces, no hexadecimal, no digit separators. The result is correctly rounded (round half to
/// even) for any input length, in three steps: an exact float operation when the digits and the
/// exponent are small; otherwise a double-precision estimate with a proven error bound, which
/// settles every input not within that bound of a rounding boundary; and for those few, an exact
/// comparison against the boundary with integers on the stack. Values that round beyond the
/// largest Float are `notFinite`, like "nan" and "inf"; values below half the smallest
/// subnormal become zero of the input's sign. Thread-safe: no state.
enum DecimalFloatParser {
    enum Outcome: Equatable {
        case value(Float)
        case notANumber
        case notFinite
    }

    /// Significant digits held in a UInt64 on the fast paths.
    private static let fastDigits = 19
    /// Significant digits the exact comparison keeps: a boundary between two Floats has at most
    /// 114 significant decimal digits, so digits past 120 only matter as "some were non-zero".
    private static let exactDigits = 120
    /// Exponents beyond this are saturated; anything past 10^±100000 is 0 or infinite anyway.
    private static let exponentLimit = 100_000

    private static let floatPowersOfTen: [Float] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]
    private static let doublePowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
    /// Halfway between the largest Float and 2^128: values from here on round to infinity.
    private static let overflowBoundary = Double(Float.greatestFiniteMagnitude) + 0x1p103

    /// Parses exactly the `count` bytes at `text`.
    static func parse(_ text: UnsafePointer<UInt8>, count: Int) -> Outcome {
        var index = 0
        var isNegative = false
        if index < count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
            isNegative = text[index] == UInt8(ascii: "-")
            index += 1
        }

        // The mantissa: the first 19 significant digits go into `digits`; `decimalExponent`
        // counts the places the decimal point must move so that value = digits * 10^exponent.
        let mantissaStart = index
        var mantissa = Mantissa()
        scanDigits(text, count, &index, &mantissa, isFraction: false)
        if index < count, text[index] == UInt8(ascii: ".") {
            index += 1
            scanDigits(text, count, &index, &mantissa, isFraction: true)
        }
        let mantissaEnd = index
        let digits = mantissa.digits
        let significantCount = mantissa.significantCount
        let decimalExponent = mantissa.decimalExponent
        let isTruncated = mantissa.isTruncated
        guard mantissa.digitCount > 0 else {
            return isNonFiniteWord(text + mantissaStart, count: count - mantissaStart) ? .notFinite : .notANumber
        }

        var explicitExponent = 0
        if index < count, text[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            var isExponentNegative = false
            if index < count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
                isExponentNegative = text[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < count, text[index] &- UInt8(ascii: "0") < 10 else { return .notANumber }
            while index < count, text[index] &- UInt8(ascii: "0") < 10 {
                if explicitExponent < exponentLimit {
                    explicitExponent = explicitExponent * 10 + Int(text[index] &- UInt8(ascii: "0"))
                }
                index += 1
            }
            if isExponentNegative { explicitExponent = -explicitExponent }
        }
        guard index == count else { return .notANumber }

        let zero: Float = isNegative ? -0.0 : 0.0
        guard digits != 0 else { return .value(zero) }
        let exponent = explicitExponent + decimalExponent
        // The leading digit's power of ten: 10^leading <= value < 10^(leading + 1).
        let leading = exponent + significantCount - 1
        if leading > 38 { return .notFinite }  // >= 1e39, beyond the largest Float (3.4e38)
        if leading < -46 { return .value(zero) }  // < 1e-46, under half the smallest subnormal

        let magnitude: Float
        if !isTruncated, digits <= 1 << 24, exponent >= -10, exponent <= 10 {
            // Both operands are exact Floats, so one correctly rounded operation is the answer.
            let exact = Float(digits)
            magnitude = exponent >= 0 ? exact * floatPowersOfTen[exponent] : exact / floatPowersOfTen[-exponent]
        } else {
            let estimate = roundedEstimate(digits: digits, exponent: exponent)
            switch estimate {
            case .settled(let value):
                magnitude = value
            case .boundary(let boundary, let below, let above):
                let order = compareExactly(
                    text: text,
                    mantissaStart: mantissaStart,
                    mantissaEnd: mantissaEnd,
                    explicitExponent: explicitExponent,
                    with: boundary
                )
                if order < 0 {
                    magnitude = below
                } else if order > 0 {
                    magnitude = above
                } else {
                    magnitude = below.bitPattern & 1 == 0 ? below : above
                }
            }
        }
        guard magnitude.isFinite else { return .notFinite }
        return .value(isNegative ? -magnitude : magnitude)
    }

    /// What the digits before the exponent say: value = digits * 10^decimalExponent, plus less
    /// than one unit of `digits` when `isTruncated`.
    private struct Mantissa {
        /// The first 19 significant digits.
        var digits: UInt64 = 0
        var significantCount = 0
        /// All digits seen, leading zeros included (zero digits means "not a number").
        var digitCount = 0
        var decimalExponent = 0
        /// Whether a digit beyond the 19th was not zero.
        var isTruncated = false
    }

    /// Reads a run of digits, the integer part or the fraction, eight at a time where it can.
    @inline(__always)
    private static func scanDigits(
        _ text: UnsafePointer<UInt8>,
        _ count: Int,
        _ index: inout Int,
        _ mantissa: inout Mantissa,
        isFraction: Bool
    ) {
        if mantissa.significantCount == 0 {
            // Leading zeros only move the decimal point (in a fraction).
            while index < count, text[index] == UInt8(ascii: "0") {
                index &+= 1
                mantissa.digitCount &+= 1
                if isFraction { mantissa.decimalExponent &-= 1 }
            }
        }
        while mantissa.significantCount &+ 8 <= fastDigits, count &- index >= 8 {
            let chunk = UInt64(littleEndian: UnsafeRawPointer(text + index).loadUnaligned(as: UInt64.self))
            guard isEightDigits(chunk) else { break }
            mantissa.digits = mantissa.digits &* 100_000_000 &+ valueOfEightDigits(chunk)
            index &+= 8
            mantissa.significantCount &+= 8
            mantissa.digitCount &+= 8
            if isFraction { mantissa.decimalExponent &-= 8 }
        }
        while index < count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            if mantissa.significantCount < fastDigits {
                mantissa.digits = mantissa.digits &* 10 &+ UInt64(digit)
                mantissa.significantCount &+= 1
                if isFraction { mantissa.decimalExponent &-= 1 }
            } else {
                if digit != 0 { mantissa.isTruncated = true }
                if !isFraction { mantissa.decimalExponent &+= 1 }
            }
            mantissa.digitCount &+= 1
            index &+= 1
        }
    }

    /// Whether all eight bytes (little-endian) are ASCII digits: each byte's high nibble is 3,
    /// and stays 3 after adding 6 (which pushes ':' and above to 4). A carry out of a byte can
    /// only come from a byte that already failed.
    @inline(__always)
    private static func isEightDigits(_ chunk: UInt64) -> Bool {
        let highNibbles: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
        let shifted = (chunk &+ 0x0606_0606_0606_0606) & highNibbles
        return (chunk & highNibbles) | (shifted >> 4) == 0x3333_3333_3333_3333
    }

    /// The number written by eight ASCII digits, the first in the lowest byte: pairs of digits
    /// are combined in each 16-bit lane, then pairs of pairs in 32-bit lanes, then the halves.
    @inline(__always)
    private static func valueOfEightDigits(_ chunk: UInt64) -> UInt64 {
        var value = chunk &- 0x3030_3030_3030_3030
        value = (value &* 10 &+ value >> 8) & 0x00FF_00FF_00FF_00FF
        value = (value &* 100 &+ value >> 16) & 0x0000_FFFF_0000_FFFF
        return (value &* 10_000 &+ value >> 32) & 0xFFFF_FFFF
    }

    private enum Estimate {
        /// The value rounds to this Float, proven.
        case settled(Float)
        /// The value is too close to `boundary` (halfway between two Floats) to tell which side it
        /// is on; it rounds to `below` under it, `above` over it.
        case boundary(Double, below: Float, above: Float)
    }

    /// Rounds digits * 10^exponent through a double estimate, for 1 <= digits < 10^19 and an
    /// exponent with the value within [1e-46, 1e39).
    private static func roundedEstimate(digits: UInt64, exponent: Int) -> Estimate {
        // At most four roundings of relative error 2^-53 each (the conversion and at most three
        // operations), and digits beyond the 19th change the value by less than 10^-18 relative:
        // in all under 2^-50 of the value. Double cannot overflow or lose precision to
        // subnormals in this range.
        var estimate = Double(digits)
        if exponent > 0 {
            var remaining = exponent
            while remaining > 22 {
                estimate *= 1e22
                remaining -= 22
            }
            estimate *= doublePowersOfTen[remaining]
        } else if exponent < 0 {
            var remaining = -exponent
            while remaining > 22 {
                estimate /= 1e22
                remaining -= 22
            }
            estimate /= doublePowersOfTen[remaining]
        }
        let tolerance = estimate * 0x1p-49
        if estimate >= 0x1p-126, estimate < 0x1p127 {
            // In the normal range a halfway point between Floats has its 29 bits below Float
            // precision equal to 1 followed by zeros; the tolerance is at most 16 units of the
            // last bit, so an estimate 64 units away from that pattern rounds like the value.
            let belowFloatPrecision = Int(estimate.bitPattern & 0x1FFF_FFFF)
            if abs(belowFloatPrecision - 0x1000_0000) > 64 { return .settled(Float(estimate)) }
        }

        let candidate = Float(estimate)
        if candidate.isInfinite {
            if estimate - overflowBoundary > tolerance { return .settled(.infinity) }
            return .boundary(overflowBoundary, below: .greatestFiniteMagnitude, above: .infinity)
        }
        // Halfway points to the neighbours; sums of two adjacent Floats are exact in Double.
        let exact = Double(candidate)
        let lowerHalfway = (exact + Double(candidate.nextDown)) / 2
        let upperHalfway =
            candidate == .greatestFiniteMagnitude ? overflowBoundary : (exact + Double(candidate.nextUp)) / 2
        if estimate - lowerHalfway <= tolerance {
            return .boundary(lowerHalfway, below: candidate.nextDown, above: candidate)
        }
        if upperHalfway - estimate <= tolerance {
            return .boundary(upperHalfway, below: candidate, above: candidate.nextUp)
        }
        return .settled(candidate)
    }

    /// Compares the decimal value of the mantissa bytes times 10^explicitExponent with
    /// `boundary` (a positive Double) exactly: -1, 0 or 1.
    private static func compareExactly(
        text: UnsafePointer<UInt8>,
        mantissaStart: Int,
        mantissaEnd: Int,
        explicitExponent: Int,
        with boundary: Double
    ) -> Int {
        // Widest operand: 120 digits (399 bits) shifted by up to ~200 bits, or the boundary's
        // 53 bits times 5^165 shifted by up to ~270 bits; 48 words leave room to spare.
        let wordCapacity = 48
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: wordCapacity) { decimalWords in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: wordCapacity) { binaryWords in
                var decimal = StackBigInt(words: decimalWords)
                var exponent = explicitExponent
                var significantCount = 0
                var hasPoint = false
                var hasNonZeroTail = false
                var chunk: UInt32 = 0
                var chunkLength = 0
                for index in mantissaStart..<mantissaEnd {
                    let byte = text[index]
                    if byte == UInt8(ascii: ".") {
                        hasPoint = true
                        continue
                    }
                    let digit = UInt32(byte &- UInt8(ascii: "0"))
                    if significantCount == 0 && digit == 0 {
                        if hasPoint { exponent -= 1 }
                    } else if significantCount < exactDigits {
                        chunk = chunk * 10 + digit
                        chunkLength += 1
                        if chunkLength == 9 {
                            decimal.multiplyAdd(1_000_000_000, chunk)
                            chunk = 0
                            chunkLength = 0
                        }
                        significantCount += 1
                        if hasPoint { exponent -= 1 }
                    } else {
                        if digit != 0 { hasNonZeroTail = true }
                        if !hasPoint { exponent += 1 }
                    }
                }
                if chunkLength > 0 { decimal.multiplyAdd(powerOfTen(chunkLength), chunk) }

                // boundary = significand * 2^binaryExponent, with an odd significand.
                var significand = boundary.significandBitPattern | 1 << 52
                var binaryExponent = Int(boundary.exponent) - 52
                let zeros = significand.trailingZeroBitCount
                significand >>= zeros
                binaryExponent += zeros
                var binary = StackBigInt(words: binaryWords)
                binary.multiplyAdd(0, UInt32(truncatingIfNeeded: significand >> 32))
                binary.multiplyAdd(1 << 16, 0)
                binary.multiplyAdd(1 << 16, UInt32(truncatingIfNeeded: significand))

                // decimal * 10^exponent against binary * 2^binaryExponent, moved to integers:
                // the power of five joins the side of the non-negative exponent, and the power of
                // two difference shifts one side.
                var twos = exponent - binaryExponent
                if exponent >= 0 {
                    decimal.multiplyByPowerOfFive(exponent)
                } else {
                    binary.multiplyByPowerOfFive(-exponent)
                }
                if twos >= 0 {
                    decimal.shiftLeft(twos)
                } else {
                    twos = -twos
                    binary.shiftLeft(twos)
                }
                let order = StackBigInt.compare(decimal, binary)
                return order == 0 && hasNonZeroTail ? 1 : order
            }
        }
    }

    private static func powerOfTen(_ exponent: Int) -> UInt32 {
        var result: UInt32 = 1
        for _ in 0..<exponent { result *= 10 }
        return result
    }

    /// "nan", "inf" or "infinity" in any case (the sign was already consumed).
    private static func isNonFiniteWord(_ text: UnsafePointer<UInt8>, count: Int) -> Bool {
        func matches(_ word: StaticString) -> Bool {
            guard count == word.utf8CodeUnitCount else { return false }
            for index in 0..<count where text[index] | 0x20 != word.utf8Start[index] { return false }
            return true
        }
        return matches("nan") || matches("inf") || matches("infinity")
    }
}

/// A non-negative integer in caller-provided 32-bit words (least significant first), for the
/// parser's exact comparisons. Overflowing the words is a programmer error: the parser sizes
/// them for its largest operands.
private struct StackBigInt {
    let words: UnsafeMutableBufferPointer<UInt32>
    /// Words in use; zero has none.
    var count = 0

    init(words: UnsafeMutableBufferPointer<UInt32>) {
        self.words = words
    }

    /// self = self * factor + addend.
    mutating func multiplyAdd(_ factor: UInt32, _ addend: UInt32) {
        var carry = UInt64(addend)
        for index in 0..<count {
            let product = UInt64(words[index]) * UInt64(factor) + carry
            words[index] = UInt32(truncatingIfNeeded: product)
            carry = product >> 32
        }
        if carry != 0 {
            precondition(count < words.count, "StackBigInt overflow")
            words[count] = UInt32(carry)
            count += 1
        }
    }

    mutating func multiplyByPowerOfFive(_ exponent: Int) {
        var remaining = exponent
        // 5^13 is the largest power of five that fits in 32 bits.
        while remaining >= 13 {
            multiplyAdd(1_220_703_125, 0)
            remaining -= 13
        }
        var factor: UInt32 = 1
        for _ in 0..<remaining { factor *= 5 }
        multiplyAdd(factor, 0)
    }

    mutating func shiftLeft(_ bits: Int) {
        guard count > 0, bits > 0 else { return }
        let wordShift = bits / 32
        let bitShift = bits % 32
        precondition(count + wordShift + 1 <= words.count, "StackBigInt overflow")
        if bitShift != 0 {
            words[count] = 0
            for index in stride(from: count, to: 0, by: -1) {
                words[index] = words[index] << bitShift | words[index - 1] >> (32 - bitShift)
            }
            words[0] <<= bitShift
            count += 1
        }
        if wordShift > 0 {
            for index in stride(from: count - 1, through: 0, by: -1) { words[index + wordShift] = words[index] }
            for index in 0..<wordShift { words[index] = 0 }
            count += wordShift
        }
        while count > 0, words[count - 1] == 0 { count -= 1 }
    }

    static func compare(_ lhs: StackBigInt, _ rhs: StackBigInt) -> Int {
        if lhs.count != rhs.count { return lhs.count < rhs.count ? -1 : 1 }
        for index in stride(from: lhs.count - 1, through: 0, by: -1) where lhs.words[index] != rhs.words[index] {
            return lhs.words[index] < rhs.words[index] ? -1 : 1
        }
        return 0
    }
}
