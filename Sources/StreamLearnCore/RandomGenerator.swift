import Foundation

/// A fast seeded generator (xoshiro256**, Blackman and Vigna) behind weight initialisation,
/// dropout masks and shuffling.
///
/// Its whole state is four 64-bit words (`stateWords`), stored in checkpoints so that a
/// resumed model draws exactly the numbers it would have drawn without the interruption. The
/// same seed gives the same sequence on every platform and Swift version, because nothing here
/// relies on the standard library's random algorithms. A value type: copies advance separately.
public struct RandomGenerator: Equatable, Sendable {
    private var word0: UInt64
    private var word1: UInt64
    private var word2: UInt64
    private var word3: UInt64

    /// A generator whose state is derived from `seed` with SplitMix64, as the xoshiro authors
    /// recommend, so that nearby seeds give unrelated sequences.
    public init(seed: UInt64) {
        var mixer = seed
        func nextMixed() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var value = mixer
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return value ^ (value >> 31)
        }
        word0 = nextMixed()
        word1 = nextMixed()
        word2 = nextMixed()
        word3 = nextMixed()
    }

    /// A generator continuing from `stateWords`; nil unless there are exactly four words, not
    /// all zero (the one state xoshiro can never leave).
    public init?(stateWords: [UInt64]) {
        guard stateWords.count == 4, stateWords.contains(where: { $0 != 0 }) else { return nil }
        word0 = stateWords[0]
        word1 = stateWords[1]
        word2 = stateWords[2]
        word3 = stateWords[3]
    }

    /// The full state, for `ModelState.generatorState`.
    public var stateWords: [UInt64] { [word0, word1, word2, word3] }

    /// The next 64 uniformly distributed bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = (word1 &* 5).rotatedLeft(by: 7) &* 9
        let shifted = word1 << 17
        word2 ^= word0
        word3 ^= word1
        word1 ^= word2
        word0 ^= word3
        word2 ^= shifted
        word3 = word3.rotatedLeft(by: 45)
        return result
    }

    /// A uniform value in [0, 1) with 24 random bits, every value a multiple of 2^-24.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A uniform value in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal value (Box-Muller; one value per two uniforms, the second discarded).
    public mutating func nextStandardNormal() -> Double {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let radius = (-2 * log(1 - nextUnitDouble())).squareRoot()
        return radius * cos(2 * Double.pi * nextUnitDouble())
    }

    /// A uniform integer in 0..<bound without modulo bias (Lemire's multiply-and-reject).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "nextIndex needs a positive bound, got \(bound)")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let rejectBelow = (0 &- range) % range
            while product.low < rejectBelow {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// Writes `count` random 64-bit words to `words` (dropout masks draw their bits this way).
    mutating func fill(_ words: UnsafeMutableRawPointer, wordCount count: Int) {
        var copy = self
        for index in 0..<count {
            words.storeBytes(of: copy.next(), toByteOffset: index &* 8, as: UInt64.self)
        }
        self = copy
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(by count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 &- count))
    }
}
