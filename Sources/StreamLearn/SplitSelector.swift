import StreamLearnCore

/// Decides, row by row, which rows of a dataset go to the test topic: a seeded, uniformly
/// random subset, of exact size when the number of rows is known in advance.
///
/// With a known total of `rowCount` rows, it draws exactly `round(testFraction * rowCount)`
/// test rows by selection sampling (Knuth's Algorithm S): row i is chosen with probability
/// (test rows still needed) / (rows left), which makes every subset of that size equally
/// likely, in one pass, without memory. Rows keep their file order within each topic; for
/// i.i.d. rows such as SUSY's this is as good as shuffling. Should more rows arrive than
/// announced, the extra ones are chosen independently with probability `testFraction`; with an
/// unknown total every row is. The same seed and inputs give the same choices on every run.
struct SplitSelector {
    /// The fraction of rows meant for the test topic, from 0 to 1.
    let testFraction: Double

    /// The announced number of rows, or nil when unknown.
    let rowCount: Int?

    /// The exact number of test rows when `rowCount` is known.
    let testTarget: Int?

    private var generator: RandomGenerator
    private var rowsSeen = 0
    private var testChosen = 0

    init(testFraction: Double, rowCount: Int?, seed: UInt64) {
        precondition((0...1).contains(testFraction), "a test fraction lies in [0, 1]")
        self.testFraction = testFraction
        self.rowCount = rowCount
        testTarget = rowCount.map { Int((testFraction * Double($0)).rounded()) }
        generator = RandomGenerator(seed: seed)
    }

    /// Whether the next row goes to the test topic.
    @inline(__always)
    mutating func nextIsTest() -> Bool {
        defer { rowsSeen += 1 }
        let isTest: Bool
        if let rowCount, let testTarget, rowsSeen < rowCount {
            let needed = testTarget - testChosen
            if needed == 0 {
                isTest = false
            } else {
                isTest = generator.nextIndex(below: rowCount - rowsSeen) < needed
            }
        } else if testFraction == 0 {
            isTest = false
        } else {
            isTest = generator.nextUnitDouble() < testFraction
        }
        if isTest { testChosen += 1 }
        return isTest
    }

    /// True when the rows seen so far are exactly the announced total, so that the test set
    /// has exactly `testTarget` rows.
    var isExact: Bool { rowCount == rowsSeen }
}
