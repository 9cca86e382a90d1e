/// Exact area under the ROC curve from packed (score, label) keys, shared by
/// `BinaryClassificationMetrics` and `SlidingWindowAUC`.
///
/// A key holds the score, mapped to an unsigned integer that orders like the number, in bits
/// 1...32 and the label in bit 0. Sorting the keys by score is a four-pass radix sort into a
/// caller-provided scratch buffer, so computing the AUC allocates nothing and takes time linear
/// in the count. Ties get their average rank (the Mann-Whitney statistic counts a tied
/// positive-negative pair as one half).
enum ROCAUC {
    /// The key of one prediction. NaN scores rank below every number, and -0 ties with +0.
    @inline(__always)
    static func key(score: Float, isPositive: Bool) -> UInt64 {
        let ordered: UInt32
        if score.isNaN {
            ordered = 0
        } else {
            let bits = score == 0 ? 0 : score.bitPattern
            // Flipping all bits of negatives and the sign bit of positives makes unsigned order
            // match numeric order; -inf maps to 0x007FFFFF, above NaN's 0.
            ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        }
        return UInt64(ordered) << 1 | (isPositive ? 1 : 0)
    }

    /// Sorts `keys` by score (using `scratch`, at least as long) and returns the AUC, or nil when
    /// the keys hold only one class (or none). `keys` ends up sorted; `scratch` is clobbered.
    static func compute(
        keys: UnsafeMutableBufferPointer<UInt64>,
        scratch: UnsafeMutableBufferPointer<UInt64>
    ) -> Double? {
        precondition(scratch.count >= keys.count, "AUC scratch buffer too small")
        let count = keys.count
        guard count > 1 else { return nil }
        radixSortByScore(keys, scratch: scratch)

        var positives = 0
        var positiveRankSum = 0.0
        var start = 0
        while start < count {
            let score = keys[start] >> 1
            var end = start
            var groupPositives = 0
            while end < count, keys[end] >> 1 == score {
                groupPositives += Int(keys[end] & 1)
                end += 1
            }
            // Ranks start + 1 ... end share their mean.
            positiveRankSum += Double(groupPositives) * (Double(start + 1 + end) / 2)
            positives += groupPositives
            start = end
        }
        let negatives = count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let p = Double(positives)
        return (positiveRankSum - p * (p + 1) / 2) / (p * Double(negatives))
    }

    /// Stable least-significant-digit radix sort on the 32 score bits, eight bits per pass.
    /// Four passes, so the result lands back in `keys`.
    private static func radixSortByScore(
        _ keys: UnsafeMutableBufferPointer<UInt64>,
        scratch: UnsafeMutableBufferPointer<UInt64>
    ) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { counts in
            var source = keys
            var target = UnsafeMutableBufferPointer(rebasing: scratch[0..<keys.count])
            for pass in 0..<4 {
                let shift = UInt64(1 + 8 * pass)
                counts.initialize(repeating: 0)
                for key in source { counts[Int((key >> shift) & 0xFF)] += 1 }
                var total = 0
                for digit in 0..<256 {
                    let digitCount = counts[digit]
                    counts[digit] = total
                    total += digitCount
                }
                for key in source {
                    let digit = Int((key >> shift) & 0xFF)
                    target[counts[digit]] = key
                    counts[digit] += 1
                }
                swap(&source, &target)
            }
        }
    }
}
