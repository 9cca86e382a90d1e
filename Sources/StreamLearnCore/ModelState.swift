/// Everything a model needs to continue learning exactly where it stopped.
///
/// This is the contract between the learners and the checkpoint codec: a learner can be turned
/// into a `ModelState` and rebuilt from one, and the codec stores every field bit for bit.
public struct ModelState: Equatable, Sendable {
    /// Which learner the state belongs to.
    public enum Kind: UInt8, Sendable, CaseIterable {
        case mlp = 1
        case logistic = 2

        /// The name used in configuration and JSON ("mlp", "logistic").
        public var name: String {
            switch self {
            case .mlp: "mlp"
            case .logistic: "logistic"
            }
        }
    }

    public var kind: Kind
    /// Number of input features.
    public var inputCount: Int
    /// Sizes of the hidden layers, input side first; empty for logistic regression.
    public var hiddenSizes: [Int]
    /// Dropout rate after each hidden layer; same count as `hiddenSizes`.
    public var dropoutRates: [Float]
    /// Every weight and bias, layer by layer: weights (row-major, outputs x inputs), then biases.
    public var parameters: [Float]
    public var optimizer: OptimizerState
    public var standardizer: StandardizerState
    /// State of the seeded generator behind initialisation, dropout masks and shuffling.
    public var generatorState: [UInt64]
    /// Training records the model has learned from.
    public var recordsTrained: Int64
    /// Optimizer steps (batches) taken.
    public var batchesTrained: Int64

    public init(
        kind: Kind,
        inputCount: Int,
        hiddenSizes: [Int],
        dropoutRates: [Float],
        parameters: [Float],
        optimizer: OptimizerState,
        standardizer: StandardizerState,
        generatorState: [UInt64],
        recordsTrained: Int64,
        batchesTrained: Int64
    ) {
        self.kind = kind
        self.inputCount = inputCount
        self.hiddenSizes = hiddenSizes
        self.dropoutRates = dropoutRates
        self.parameters = parameters
        self.optimizer = optimizer
        self.standardizer = standardizer
        self.generatorState = generatorState
        self.recordsTrained = recordsTrained
        self.batchesTrained = batchesTrained
    }

    /// The shape as people read it: "mlp 18-128-256-128-1" or "logistic 18-1".
    public var shapeDescription: String {
        "\(kind.name) " + ([inputCount] + hiddenSizes + [1]).map(String.init).joined(separator: "-")
    }
}

/// The optimizer's hyperparameters and moments.
public struct OptimizerState: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        case adam = 1
        case sgd = 2
    }

    public var kind: Kind
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// Number of updates applied (Adam's t).
    public var step: Int64
    /// Adam's first moments, one per parameter; empty for SGD.
    public var firstMoments: [Float]
    /// Adam's second moments, one per parameter; empty for SGD.
    public var secondMoments: [Float]

    public init(
        kind: Kind,
        learningRate: Float,
        beta1: Float,
        beta2: Float,
        epsilon: Float,
        step: Int64,
        firstMoments: [Float],
        secondMoments: [Float]
    ) {
        self.kind = kind
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}

/// Running mean and variance per feature (Welford), and whether inputs are standardised at all.
public struct StandardizerState: Equatable, Sendable {
    public var isEnabled: Bool
    /// Records seen.
    public var count: Int64
    public var means: [Double]
    /// Sums of squared deviations from the mean (Welford's M2).
    public var squaredDeviations: [Double]

    public init(isEnabled: Bool, count: Int64, means: [Double], squaredDeviations: [Double]) {
        self.isEnabled = isEnabled
        self.count = count
        self.means = means
        self.squaredDeviations = squaredDeviations
    }
}
