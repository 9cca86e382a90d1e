/// The random source of `SyntheticSUSY`: xoshiro256** seeded through SplitMix64.
///
/// Kept apart from the models' generator on purpose: the generated data set is part of the
/// documented figures, so its stream must never change when the models' generator does.
/// A value type; copies continue independently from the same state.
public struct SyntheticRandom: RandomNumberGenerator, Sendable {
    private var word0: UInt64
    private var word1: UInt64
    private var word2: UInt64
    private var word3: UInt64

    /// A generator whose whole stream is fixed by `seed`; every seed, 0 included, is usable.
    public init(seed: UInt64) {
        // SplitMix64 spreads the seed over the 256-bit state, which then is never all zero.
        var mixer = seed
        func nextMixed() -> UInt64 {
            mixer &+= 0x9e37_79b9_7f4a_7c15
            var value = mixer
            value = (value ^ (value >> 30)) &* 0xbf58_476d_1ce4_e5b9
            value = (value ^ (value >> 27)) &* 0x94d0_49bb_1331_11eb
            return value ^ (value >> 31)
        }
        word0 = nextMixed()
        word1 = nextMixed()
        word2 = nextMixed()
        word3 = nextMixed()
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(word1 &* 5, by: 7) &* 9
        let shifted = word1 << 17
        word2 ^= word0
        word3 ^= word1
        word1 ^= word2
        word0 ^= word3
        word2 ^= shifted
        word3 = rotateLeft(word3, by: 45)
        return result
    }

    /// A uniform double strictly between 0 and 1 (53 random bits, centred in their interval),
    /// so that its logarithm and reciprocal are always finite.
    public mutating func nextOpenUnit() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1p-53
    }

    private func rotateLeft(_ value: UInt64, by count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
