/// Writes doubles as short plain decimals into a byte buffer, fast enough for a million CSV rows
/// a second and without allocating.
///
/// The text keeps 6 significant digits for magnitudes from 0.1 up to 10^6 and 6 decimals below
/// 0.1 (an absolute precision of 5e-7), with trailing zeros dropped: 0.25, -1.23457, 0.000123,
/// 1234.57, 3. Magnitudes of 10^15 and more, NaN and infinities fall back to Swift's own
/// description (which allocates, but such values do not occur in generated data).
public enum DecimalWriter {
    /// The most bytes `write` produces for any value.
    public static let maximumLength = 32

    /// Writes `value` at `destination`, which must have room for `maximumLength` bytes; returns
    /// the number of bytes written.
    public static func write(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        let magnitude = value.magnitude
        guard magnitude < 1e15 else { return writeFallback(value, to: destination) }

        // Decimals so that about 6 significant digits remain; below 1 always 6 decimals.
        var decimals: Int
        let scale: Double
        if magnitude < 1 {
            (decimals, scale) = (6, 1e6)
        } else if magnitude < 10 {
            (decimals, scale) = (5, 1e5)
        } else if magnitude < 100 {
            (decimals, scale) = (4, 1e4)
        } else if magnitude < 1_000 {
            (decimals, scale) = (3, 1e3)
        } else if magnitude < 10_000 {
            (decimals, scale) = (2, 1e2)
        } else if magnitude < 100_000 {
            (decimals, scale) = (1, 1e1)
        } else {
            (decimals, scale) = (0, 1)
        }
        // Adding one half and truncating rounds half up, without a libm call.
        var digits = UInt64(magnitude * scale + 0.5)
        if digits == 0 {
            destination[0] = UInt8(ascii: "0")
            return 1
        }
        while decimals > 0, digits % 10 == 0 {
            digits /= 10
            decimals -= 1
        }

        let signLength = value < 0 ? 1 : 0
        if signLength == 1 { destination[0] = UInt8(ascii: "-") }
        // All digits first, at least one before the point, then the fraction moves right by one.
        let width = max(digitCount(digits), decimals + 1)
        writeDigits(digits, width: width, to: destination + signLength)
        guard decimals > 0 else { return signLength + width }
        let pointIndex = signLength + width - decimals
        var index = signLength + width
        while index > pointIndex {
            destination[index] = destination[index - 1]
            index -= 1
        }
        destination[pointIndex] = UInt8(ascii: ".")
        return signLength + width + 1
    }

    /// "00" to "99", for writing two digits per division.
    private static let digitPairs: StaticString = """
        0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
        5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899
        """

    /// The number of decimal digits of `number` (1 for 0).
    private static func digitCount(_ number: UInt64) -> Int {
        var count = 1
        var threshold: UInt64 = 10
        while number >= threshold, count < 19 {
            count += 1
            threshold &*= 10
        }
        return count
    }

    /// Writes `number` as exactly `width` digits, zero-padded on the left.
    private static func writeDigits(_ number: UInt64, width: Int, to destination: UnsafeMutablePointer<UInt8>) {
        let pairs = digitPairs.utf8Start
        var remaining = number
        var position = width
        while position >= 2 {
            let pair = Int(remaining % 100) * 2
            remaining /= 100
            destination[position - 1] = pairs[pair + 1]
            destination[position - 2] = pairs[pair]
            position -= 2
        }
        if position == 1 {
            destination[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
        }
    }

    /// Swift's description, for values the fast path does not cover.
    private static func writeFallback(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        var length = 0
        for byte in value.description.utf8.prefix(maximumLength) {
            destination[length] = byte
            length += 1
        }
        return length
    }
}
