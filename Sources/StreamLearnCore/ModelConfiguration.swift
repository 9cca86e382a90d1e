/// How to build a new model; the configuration file's "model" section maps onto this.
public struct ModelConfiguration: Equatable, Sendable {
    /// Which learner; default `.mlp`.
    public var kind: ModelState.Kind
    /// Number of input features; default 18.
    public var inputCount: Int
    /// Units per hidden layer, input side first; default [128, 256, 128], empty for logistic.
    public var hiddenSizes: [Int]
    /// Dropout rate after each hidden layer, each in [0, 1); default [0.2, 0.4, 0.4].
    public var dropoutRates: [Float]
    /// Update rule; default `.adam` (Keras defaults: beta1 0.9, beta2 0.999, epsilon 1e-7).
    public var optimizer: OptimizerState.Kind
    /// Step size; default 0.001.
    public var learningRate: Float
    /// Whether inputs are standardised with running means and deviations; default true.
    public var isStandardizing: Bool
    /// Seed of the generator behind initial weights, dropout masks and shuffling; default 42.
    public var seed: UInt64

    public init(
        kind: ModelState.Kind = .mlp,
        inputCount: Int = 18,
        hiddenSizes: [Int] = [128, 256, 128],
        dropoutRates: [Float] = [0.2, 0.4, 0.4],
        optimizer: OptimizerState.Kind = .adam,
        learningRate: Float = 0.001,
        isStandardizing: Bool = true,
        seed: UInt64 = 42
    ) {
        self.kind = kind
        self.inputCount = inputCount
        self.hiddenSizes = hiddenSizes
        self.dropoutRates = dropoutRates
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.isStandardizing = isStandardizing
        self.seed = seed
    }

    /// The tutorial's network (DESIGN.md): 18 -> 128 -> 256 -> 128 -> 1, dropout 0.2, 0.4, 0.4,
    /// Adam at 0.001.
    public static let tutorial = ModelConfiguration()

    /// Logistic regression over `inputCount` features, Adam at 0.001.
    public static func logistic(inputCount: Int = 18) -> ModelConfiguration {
        ModelConfiguration(kind: .logistic, inputCount: inputCount, hiddenSizes: [], dropoutRates: [])
    }

    /// The shape as `ModelState.shapeDescription` writes it: "mlp 18-128-256-128-1".
    public var shapeDescription: String {
        "\(kind.name) " + ([inputCount] + hiddenSizes + [1]).map(String.init).joined(separator: "-")
    }

    /// Throws `ModelError.invalidState` naming the first value out of range: an input count or
    /// layer size below 1, a dropout rate outside [0, 1), rates not matching the layers, a
    /// learning rate that is not a positive finite number, hidden layers on logistic
    /// regression or none on an MLP.
    public func validate() throws {
        if let problem = Self.problem(
            kind: kind,
            inputCount: inputCount,
            hiddenSizes: hiddenSizes,
            dropoutRates: dropoutRates
        ) {
            throw ModelError.invalidState("model configuration: \(problem)")
        }
        guard learningRate.isFinite, learningRate > 0 else {
            throw ModelError.invalidState(
                "model configuration: learning rate must be a positive number, got \(learningRate)"
            )
        }
    }

    /// Throws `ModelError.shapeMismatch` with both shapes when `state` was not built with this
    /// configuration's kind, input count and hidden sizes (a checkpoint from another model).
    public func checkShape(of state: ModelState) throws {
        guard state.kind == kind, state.inputCount == inputCount, state.hiddenSizes == hiddenSizes
        else {
            throw ModelError.shapeMismatch(expected: shapeDescription, found: state.shapeDescription)
        }
    }

    /// The first problem with a model's layout, in words, or nil; shared with `Model(state:)`.
    static func problem(
        kind: ModelState.Kind,
        inputCount: Int,
        hiddenSizes: [Int],
        dropoutRates: [Float]
    ) -> String? {
        guard inputCount >= 1 else { return "input count must be at least 1, got \(inputCount)" }
        switch kind {
        case .logistic where !hiddenSizes.isEmpty:
            return "logistic regression has no hidden layers, got \(hiddenSizes.count)"
        case .mlp where hiddenSizes.isEmpty:
            return "an MLP needs at least one hidden layer, got none"
        default:
            break
        }
        if let index = hiddenSizes.firstIndex(where: { $0 < 1 }) {
            return "hidden layer \(index + 1) must have at least 1 unit, got \(hiddenSizes[index])"
        }
        guard dropoutRates.count == hiddenSizes.count else {
            return "\(hiddenSizes.count) hidden layers need as many dropout rates, got \(dropoutRates.count)"
        }
        if let index = dropoutRates.firstIndex(where: { !($0 >= 0 && $0 < 1) }) {
            return "dropout rate \(index + 1) must be in [0, 1), got \(dropoutRates[index])"
        }
        return nil
    }
}
