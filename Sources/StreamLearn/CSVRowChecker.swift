import StreamLearnCore

/// Checks that a CSV line is a label (0 or 1) followed by a fixed number of numbers, as fast
/// as a bulk load needs, and returns the label; allocates nothing.
///
/// The check accepts exactly the rows `RecordDecoder` (label in column 0) accepts, so that
/// `load` never writes a row that the daemon would refuse. A quick scan settles the common
/// case: plain decimals (`-1.25`, `0.5`, `3e-2`) whose magnitude is surely below 1e38, and a
/// label written `0`, `1` or as SUSY.csv writes it (`1.000000000000000000e+00`). Any other
/// line (blanks around fields, a `+` sign, a huge exponent, or a real error) goes to the
/// decoder, which either accepts it or throws the precise `DecodeFailure`.
///
/// A value type; one owner uses it from one thread (it owns a scratch row for the decoder).
struct CSVRowChecker {
    /// Features per row, without the label.
    let featureCount: Int

    private let decoder: RecordDecoder
    private let scratch: UnsafeMutableBufferPointer<Float>

    /// A checker for rows of a label and `featureCount` numbers; call `deallocate()` when done.
    init(featureCount: Int) {
        self.featureCount = featureCount
        decoder = RecordDecoder(featureCount: featureCount, label: .column(0))
        scratch = .allocate(capacity: featureCount)
    }

    func deallocate() { scratch.deallocate() }

    /// The label of `line` (0 or 1), or the reason it is not a label plus `featureCount`
    /// finite numbers.
    @inline(__always)
    func label(of line: UnsafeRawBufferPointer) throws(DecodeFailure) -> Int {
        if let label = Self.quickLabel(line, featureCount: featureCount) { return label }
        let label = try decoder.decode(key: nil, value: line, into: scratch)
        return label == 1 ? 1 : 0
    }

    /// The label when the quick scan can vouch for the whole line, nil when the decoder must look.
    static func quickLabel(_ line: UnsafeRawBufferPointer, featureCount: Int) -> Int? {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let end = line.count
        guard end > 0 else { return nil }

        // The label: "0" or "1", then optionally ".000..." and an exponent of zeros.
        var index = 0
        let label: Int
        switch base[0] {
        case UInt8(ascii: "0"): label = 0
        case UInt8(ascii: "1"): label = 1
        default: return nil
        }
        index = 1
        if index < end, base[index] == UInt8(ascii: ".") {
            index += 1
            while index < end, base[index] == UInt8(ascii: "0") { index += 1 }
        }
        if index < end, base[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < end, base[index] == UInt8(ascii: "+") || base[index] == UInt8(ascii: "-") { index += 1 }
            let digitsStart = index
            while index < end, base[index] == UInt8(ascii: "0") { index += 1 }
            guard index > digitsStart else { return nil }
        }
        guard index < end, base[index] == UInt8(ascii: ",") else { return nil }
        index += 1

        for field in 0..<featureCount {
            guard let next = scanNumber(base, from: index, end: end) else { return nil }
            index = next
            if field < featureCount - 1 {
                guard index < end, base[index] == UInt8(ascii: ",") else { return nil }
                index += 1
            }
        }
        return index == end ? label : nil
    }

    /// Scans a plain decimal starting at `start`: optional `-`, digits, optional `.` and digits
    /// (at least one digit in all), optional exponent. Returns the index after it when the number
    /// is surely finite as a Float, nil otherwise (including "not a number").
    ///
    /// Written for branch prediction: the sign is skipped without a branch, and digit runs are
    /// found eight bytes at a time, because the lengths of fields and signs vary row by row.
    @inline(__always)
    private static func scanNumber(_ base: UnsafePointer<UInt8>, from start: Int, end: Int) -> Int? {
        guard start < end else { return nil }
        var index = start + (base[start] == UInt8(ascii: "-") ? 1 : 0)
        let integerStart = index
        index = skipDigits(base, from: index, end: end)
        // Leading zeros count too: that only sends a few odd numbers to the decoder.
        let integerDigits = index - integerStart
        var digitCount = integerDigits
        if index < end, base[index] == UInt8(ascii: ".") {
            let fractionStart = index + 1
            index = skipDigits(base, from: fractionStart, end: end)
            digitCount += index - fractionStart
        }
        guard digitCount > 0 else { return nil }
        var exponent = 0
        if index < end, base[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            var isNegative = false
            if index < end, base[index] == UInt8(ascii: "+") || base[index] == UInt8(ascii: "-") {
                isNegative = base[index] == UInt8(ascii: "-")
                index += 1
            }
            let digitsStart = index
            while index < end, base[index] &- UInt8(ascii: "0") < 10 {
                // Saturate: beyond 10^6 the decoder decides anyway.
                if exponent < 1_000_000 { exponent = exponent * 10 + Int(base[index] &- UInt8(ascii: "0")) }
                index += 1
            }
            guard index > digitsStart else { return nil }
            if isNegative { exponent = -exponent }
        }
        // Below 10^38 is below Float's largest value (about 3.4e38); tiny values round to zero,
        // which the decoder accepts too.
        guard integerDigits + exponent <= 38 else { return nil }
        return index
    }

    /// The index of the first byte at or after `start` that is not an ASCII digit (or `end`).
    ///
    /// Eight bytes at a time where the line allows: a byte is a digit when its high nibble is 3
    /// and adding 6 keeps it there. Carries between bytes can only disturb bytes after the first
    /// non-digit, which is all this looks for.
    @inline(__always)
    private static func skipDigits(_ base: UnsafePointer<UInt8>, from start: Int, end: Int) -> Int {
        var index = start
        while end - index >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            let nibbles: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
            let threes: UInt64 = 0x3030_3030_3030_3030
            let nonDigits = ((word & nibbles) ^ threes) | (((word &+ 0x0606_0606_0606_0606) & nibbles) ^ threes)
            if nonDigits != 0 { return index + nonDigits.trailingZeroBitCount / 8 }
            index += 8
        }
        while index < end, base[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        return index
    }
}
