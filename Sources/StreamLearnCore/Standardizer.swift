/// Online standardisation of inputs: a running mean and variance per feature (Welford), and
/// the Float offsets and factors that batches are standardised with.
///
/// The statistics are kept in Double so that millions of updates do not drift. The variance is
/// the population variance (sum of squared deviations over the count). A feature whose
/// standard deviation is zero, or too small to tell apart from rounding of its mean (below
/// 1e-6 of max(|mean|, 1)), is only centred, never divided, so constant inputs stay finite.
/// When disabled, inputs pass through unchanged and no statistics are kept.
struct Standardizer {
    let isEnabled: Bool
    private(set) var count: Int64
    private(set) var means: [Double]
    private(set) var squaredDeviations: [Double]
    /// Subtracted from each feature (the mean as Float; 0 when disabled).
    private(set) var offsets: [Float]
    /// Multiplies each centred feature (1 / standard deviation; 1 when disabled or guarded).
    private(set) var factors: [Float]

    init(inputCount: Int, isEnabled: Bool) {
        self.isEnabled = isEnabled
        count = 0
        means = Array(repeating: 0, count: inputCount)
        squaredDeviations = Array(repeating: 0, count: inputCount)
        offsets = Array(repeating: 0, count: inputCount)
        factors = Array(repeating: 1, count: inputCount)
    }

    /// Restores saved statistics; throws `ModelError.invalidState` stating expected and found
    /// lengths, or a negative count or deviation.
    init(state: StandardizerState, inputCount: Int) throws {
        guard state.means.count == inputCount, state.squaredDeviations.count == inputCount else {
            throw ModelError.invalidState(
                "standardiser has \(state.means.count) means and \(state.squaredDeviations.count) "
                    + "squared deviations, the model has \(inputCount) inputs"
            )
        }
        guard state.count >= 0 else {
            throw ModelError.invalidState("standardiser count is \(state.count), below 0")
        }
        if let index = state.squaredDeviations.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
            throw ModelError.invalidState(
                "standardiser squared deviation \(index) is \(state.squaredDeviations[index])"
            )
        }
        if let index = state.means.firstIndex(where: { !$0.isFinite }) {
            throw ModelError.invalidState("standardiser mean \(index) is \(state.means[index])")
        }
        isEnabled = state.isEnabled
        count = state.count
        means = state.means
        squaredDeviations = state.squaredDeviations
        offsets = Array(repeating: 0, count: inputCount)
        factors = Array(repeating: 1, count: inputCount)
        refreshScaling()
    }

    var state: StandardizerState {
        StandardizerState(
            isEnabled: isEnabled,
            count: count,
            means: means,
            squaredDeviations: squaredDeviations
        )
    }

    /// Adds `rowCount` rows of row-major `features` (rows x inputCount) to the statistics and
    /// refreshes the offsets and factors. The features must be finite (the caller checks).
    mutating func update(features: UnsafePointer<Float>, rowCount: Int) {
        guard isEnabled, rowCount > 0 else { return }
        let inputCount = means.count
        var seen = count
        means.withUnsafeMutableBufferPointer { means in
            squaredDeviations.withUnsafeMutableBufferPointer { deviations in
                for row in 0..<rowCount {
                    seen += 1
                    let weight = 1 / Double(seen)
                    let values = features + row * inputCount
                    for column in 0..<inputCount {
                        let value = Double(values[column])
                        let delta = value - means[column]
                        means[column] += delta * weight
                        deviations[column] += delta * (value - means[column])
                    }
                }
            }
        }
        count = seen
        refreshScaling()
    }

    private mutating func refreshScaling() {
        guard isEnabled, count > 0 else { return }
        for column in means.indices {
            let mean = means[column]
            let deviation = (squaredDeviations[column] / Double(count)).squareRoot()
            offsets[column] = Float(mean)
            factors[column] = deviation > 1e-6 * max(abs(mean), 1) ? Float(1 / deviation) : 1
        }
    }
}
