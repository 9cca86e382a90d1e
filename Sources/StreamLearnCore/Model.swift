import BLAS

/// A learner with its standardiser, optimizer and generator: the MLP or logistic regression.
///
/// Not thread-safe: one owner (the daemon's training queue) at a time, and prediction uses the
/// same scratch as training. Neither training nor prediction allocates per step or per record;
/// scratch grows only when a larger batch than any before arrives. The dense products run on
/// single-threaded OpenBLAS (`BLAS.prepare()` is called by every initialiser).
public final class Model {
    public let kind: ModelState.Kind
    public let inputCount: Int
    public let hiddenSizes: [Int]
    public let dropoutRates: [Float]
    /// Records the model has learned from (rows times epochs).
    public private(set) var recordsTrained: Int64

    let network: any Network
    let parameters: AlignedBuffer<Float>
    let gradients: AlignedBuffer<Float>
    private var optimizer: Optimizer
    private(set) var standardizer: Standardizer
    private var generator: RandomGenerator
    private var batchesTrained: Int64

    // Scratch: one standardised feature-major batch, its labels and logit gradients, and the
    // order in which a mini-dataset's rows are visited.
    private let batchInput: AlignedBuffer<Float>
    private let batchLabels: AlignedBuffer<Float>
    private let logitGradients: AlignedBuffer<Float>
    private let rowOrder: AlignedBuffer<Int>
    private var reservedBatchSize = 0

    /// Prediction runs in chunks of at most this many rows, so scoring a large file needs no
    /// more scratch than a large batch. The network's scratch for a chunk is made for training
    /// too (gradients, dropout lanes) and zeroed, about 5 KiB per row for the default MLP:
    /// 256 rows predict as fast as 1,024 (`bench model`, 2026-12-04: 563,887 and 552,570
    /// records/s) and keep 4 MiB less resident in the daemon.
    static let predictionChunkSize = 256

    /// A new model with Glorot-uniform weights drawn from `configuration.seed`.
    ///
    /// The configuration must be valid (`configuration.validate()`); the configuration loader
    /// checks that before, so an invalid one here is a programming error.
    public init(configuration: ModelConfiguration) {
        do {
            try configuration.validate()
        } catch {
            preconditionFailure("\(error)")
        }
        BLAS.prepare()
        kind = configuration.kind
        inputCount = configuration.inputCount
        hiddenSizes = configuration.hiddenSizes
        dropoutRates = configuration.dropoutRates
        network = Self.makeNetwork(
            kind: kind,
            inputCount: inputCount,
            hiddenSizes: hiddenSizes,
            dropoutRates: dropoutRates
        )
        parameters = AlignedBuffer(capacity: network.parameterCount)
        gradients = AlignedBuffer(capacity: network.parameterCount)
        generator = RandomGenerator(seed: configuration.seed)
        network.initialize(parameters.pointer, generator: &generator)
        optimizer = Optimizer(
            kind: configuration.optimizer,
            learningRate: configuration.learningRate,
            parameterCount: network.parameterCount
        )
        standardizer = Standardizer(inputCount: inputCount, isEnabled: configuration.isStandardizing)
        recordsTrained = 0
        batchesTrained = 0
        batchInput = AlignedBuffer(capacity: 0)
        batchLabels = AlignedBuffer(capacity: 0)
        logitGradients = AlignedBuffer(capacity: 0)
        rowOrder = AlignedBuffer(capacity: 0)
    }

    /// A model that continues exactly where `state` left off: the same parameters, moments,
    /// step, standardiser, generator and counters, so that training on from here gives the
    /// same bits as if it had never stopped.
    ///
    /// Throws `ModelError.invalidState` when any array has the wrong length for the shape
    /// (stating both lengths) or a value is out of range.
    public init(state: ModelState) throws {
        if let problem = ModelConfiguration.problem(
            kind: state.kind,
            inputCount: state.inputCount,
            hiddenSizes: state.hiddenSizes,
            dropoutRates: state.dropoutRates
        ) {
            throw ModelError.invalidState("\(state.shapeDescription): \(problem)")
        }
        let network = Self.makeNetwork(
            kind: state.kind,
            inputCount: state.inputCount,
            hiddenSizes: state.hiddenSizes,
            dropoutRates: state.dropoutRates
        )
        guard state.parameters.count == network.parameterCount else {
            throw ModelError.invalidState(
                "\(state.shapeDescription) needs \(network.parameterCount) parameters, "
                    + "the state has \(state.parameters.count)"
            )
        }
        guard let generator = RandomGenerator(stateWords: state.generatorState) else {
            throw ModelError.invalidState(
                "generator state must be 4 words, not all zero; got \(state.generatorState.count) words"
            )
        }
        guard state.recordsTrained >= 0, state.batchesTrained >= 0 else {
            throw ModelError.invalidState(
                "training counters must not be negative, got \(state.recordsTrained) records "
                    + "and \(state.batchesTrained) batches"
            )
        }
        optimizer = try Optimizer(state: state.optimizer, parameterCount: network.parameterCount)
        standardizer = try Standardizer(state: state.standardizer, inputCount: state.inputCount)
        BLAS.prepare()
        kind = state.kind
        inputCount = state.inputCount
        hiddenSizes = state.hiddenSizes
        dropoutRates = state.dropoutRates
        self.network = network
        parameters = AlignedBuffer(copying: state.parameters)
        gradients = AlignedBuffer(capacity: network.parameterCount)
        self.generator = generator
        recordsTrained = state.recordsTrained
        batchesTrained = state.batchesTrained
        batchInput = AlignedBuffer(capacity: 0)
        batchLabels = AlignedBuffer(capacity: 0)
        logitGradients = AlignedBuffer(capacity: 0)
        rowOrder = AlignedBuffer(capacity: 0)
    }

    static func makeNetwork(
        kind: ModelState.Kind,
        inputCount: Int,
        hiddenSizes: [Int],
        dropoutRates: [Float]
    ) -> any Network {
        switch kind {
        case .mlp:
            MultilayerPerceptron(inputCount: inputCount, hiddenSizes: hiddenSizes, dropoutRates: dropoutRates)
        case .logistic:
            LogisticRegression(inputCount: inputCount)
        }
    }

    /// A full copy of everything the model needs to continue, for checkpoints.
    public var state: ModelState {
        ModelState(
            kind: kind,
            inputCount: inputCount,
            hiddenSizes: hiddenSizes,
            dropoutRates: dropoutRates,
            parameters: parameters.array(count: network.parameterCount),
            optimizer: optimizer.state,
            standardizer: standardizer.state,
            generatorState: generator.stateWords,
            recordsTrained: recordsTrained,
            batchesTrained: batchesTrained
        )
    }

    /// "mlp 18-128-256-128-1", as `ModelState.shapeDescription` writes it.
    public var configurationShape: String {
        "\(kind.name) " + ([inputCount] + hiddenSizes + [1]).map(String.init).joined(separator: "-")
    }

    /// Optimizer steps taken (one per batch).
    public var step: Int64 { optimizer.step }

    /// Number of weights and biases.
    public var parameterCount: Int { network.parameterCount }

    /// Floating-point operations of the matrix products in one training step, per record: the
    /// forward pass, the weight gradients, and the input gradients of every layer but the first
    /// (403,200 for the default MLP). Element-wise work is not counted.
    public var trainingFlopsPerRecord: Int {
        let sizes = [inputCount] + hiddenSizes + [1]
        let products = (0..<(sizes.count - 1)).map { sizes[$0] * sizes[$0 + 1] }
        return 4 * products.reduce(0, +) + 2 * products.dropFirst().reduce(0, +)
    }

    /// Floating-point operations of the matrix products in one forward pass, per record
    /// (135,936 for the default MLP).
    public var predictionFlopsPerRecord: Int {
        let sizes = [inputCount] + hiddenSizes + [1]
        return 2 * (0..<(sizes.count - 1)).map { sizes[$0] * sizes[$0 + 1] }.reduce(0, +)
    }

    /// The linear-algebra backend in one line ("OpenBLAS 0.3.21, SkylakeX kernels, 1 thread"),
    /// for logs and benchmark headers.
    public static var backendDescription: String { BLAS.prepare().summary }

    // MARK: - Training

    /// Learns from a mini-dataset of `labels.count` rows (features row-major, rows x inputCount):
    /// first updates the standardiser with all rows, then runs `epochs` passes in batches of
    /// `batchSize`, shuffled with the model's own generator when `shuffle` is true. A last
    /// partial batch is trained as a smaller batch.
    ///
    /// Throws before touching any state if a feature is NaN/inf (`nonFiniteInput`), a label is
    /// not 0 or 1 (`invalidLabel`), or `features.count` is not rows x inputCount
    /// (`shapeMismatch`). Returns the mean training loss and accuracy over the batches as they
    /// were trained (each from the forward pass before its update).
    @discardableResult
    public func fit(
        features: UnsafeBufferPointer<Float>,
        labels: UnsafeBufferPointer<Float>,
        batchSize: Int,
        epochs: Int,
        shuffle: Bool
    ) throws -> FitSummary {
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        precondition(epochs >= 0, "epochs must not be negative, got \(epochs)")
        let rowCount = labels.count
        try checkTrainingInput(features: features, labels: labels)
        guard rowCount > 0, epochs > 0, let featureBase = features.baseAddress,
            let labelBase = labels.baseAddress
        else {
            return FitSummary(records: 0, meanLoss: 0, accuracy: 0)
        }

        standardizer.update(features: featureBase, rowCount: rowCount)
        reserve(batchSize: min(batchSize, rowCount))
        rowOrder.reserve(rowCount)
        let order = rowOrder.pointer
        for row in 0..<rowCount {
            order[row] = row
        }

        var generator = self.generator
        var lossSum: Double = 0
        var correctCount = 0
        let offsets = standardizer.offsets
        let factors = standardizer.factors
        offsets.withUnsafeBufferPointer { offsets in
            factors.withUnsafeBufferPointer { factors in
                for _ in 0..<epochs {
                    if shuffle {
                        Self.shuffle(order, count: rowCount, generator: &generator)
                    }
                    var start = 0
                    while start < rowCount {
                        let count = min(batchSize, rowCount - start)
                        gather(
                            rows: order + start,
                            count: count,
                            features: featureBase,
                            labels: labelBase,
                            offsets: offsets.baseAddress!,
                            factors: factors.baseAddress!
                        )
                        let outcome = forwardBackward(batchSize: count, generator: &generator)
                        optimizer.apply(gradients: gradients.pointer, to: parameters.pointer)
                        batchesTrained += 1
                        lossSum += outcome.lossSum
                        correctCount += outcome.correctCount
                        start += count
                    }
                }
            }
        }
        self.generator = generator
        let records = rowCount * epochs
        recordsTrained += Int64(records)
        return FitSummary(
            records: records,
            meanLoss: lossSum / Double(records),
            accuracy: Double(correctCount) / Double(records)
        )
    }

    /// Throws the first problem with a training mini-dataset, row by row.
    private func checkTrainingInput(
        features: UnsafeBufferPointer<Float>,
        labels: UnsafeBufferPointer<Float>
    ) throws {
        let rowCount = labels.count
        guard features.count == rowCount * inputCount else {
            throw ModelError.shapeMismatch(
                expected: "\(rowCount) rows x \(inputCount) features = \(rowCount * inputCount) values",
                found: "\(features.count) values"
            )
        }
        for row in 0..<rowCount {
            let rowStart = row * inputCount
            for column in 0..<inputCount where !features[rowStart + column].isFinite {
                throw ModelError.nonFiniteInput(row: row, column: column)
            }
            let label = labels[row]
            guard label == 0 || label == 1 else {
                throw ModelError.invalidLabel(row: row, value: label)
            }
        }
    }

    /// Fisher-Yates over the first `count` entries of `order`.
    private static func shuffle(_ order: UnsafeMutablePointer<Int>, count: Int, generator: inout RandomGenerator) {
        var remaining = count
        while remaining > 1 {
            let chosen = generator.nextIndex(below: remaining)
            remaining -= 1
            let displaced = order[remaining]
            order[remaining] = order[chosen]
            order[chosen] = displaced
        }
    }

    private func reserve(batchSize: Int) {
        guard batchSize > reservedBatchSize else { return }
        batchInput.reserve(batchSize * inputCount)
        batchLabels.reserve(batchSize)
        logitGradients.reserve(batchSize)
        network.reserve(batchSize: batchSize)
        reservedBatchSize = batchSize
    }

    /// Copies the rows listed in `rows` into the feature-major batch, standardised, and their
    /// labels into the label batch.
    private func gather(
        rows: UnsafePointer<Int>,
        count: Int,
        features: UnsafePointer<Float>,
        labels: UnsafePointer<Float>,
        offsets: UnsafePointer<Float>,
        factors: UnsafePointer<Float>
    ) {
        let input = batchInput.pointer
        let batchLabels = batchLabels.pointer
        let inputCount = inputCount
        for position in 0..<count {
            let row = rows[position]
            let values = features + row * inputCount
            for column in 0..<inputCount {
                input[column * count + position] = (values[column] - offsets[column]) * factors[column]
            }
            batchLabels[position] = labels[row]
        }
    }

    /// Forward pass with dropout, loss, logit gradients of the mean loss, backward pass: fills
    /// `gradients` for the batch in `batchInput`/`batchLabels`. Changes no parameter.
    func forwardBackward(
        batchSize: Int,
        generator: inout RandomGenerator
    ) -> (lossSum: Double, correctCount: Int) {
        let input = UnsafePointer(batchInput.pointer)
        let logits = network.forwardTraining(
            input: input,
            batchSize: batchSize,
            parameters: parameters.pointer,
            generator: &generator
        )
        let labels = batchLabels.pointer
        let logitGradients = logitGradients.pointer
        let divisor = Float(batchSize)
        var lossSum: Double = 0
        var correctCount = 0
        for position in 0..<batchSize {
            let logit = logits[position]
            let label = labels[position]
            lossSum += Double(binaryCrossEntropy(logit: logit, label: label))
            if (logit > 0) == (label > 0.5) {
                correctCount += 1
            }
            logitGradients[position] = (sigmoid(logit) - label) / divisor
        }
        network.backward(
            input: input,
            logitGradients: logitGradients,
            batchSize: batchSize,
            parameters: parameters.pointer,
            gradients: gradients.pointer
        )
        return (lossSum, correctCount)
    }

    /// The mean loss and its gradients for `labels.count` rows taken in order (one batch),
    /// standardised with the current statistics, with dropout drawn from the model's generator,
    /// which advances. No parameter, moment, statistic or counter changes. For gradient checks.
    func lossAndGradients(
        features: UnsafeBufferPointer<Float>,
        labels: UnsafeBufferPointer<Float>
    ) -> (meanLoss: Double, gradients: [Float]) {
        let rowCount = labels.count
        precondition(rowCount > 0 && features.count == rowCount * inputCount, "bad gradient-check batch")
        reserve(batchSize: rowCount)
        rowOrder.reserve(rowCount)
        for row in 0..<rowCount {
            rowOrder.pointer[row] = row
        }
        standardizer.offsets.withUnsafeBufferPointer { offsets in
            standardizer.factors.withUnsafeBufferPointer { factors in
                gather(
                    rows: rowOrder.pointer,
                    count: rowCount,
                    features: features.baseAddress!,
                    labels: labels.baseAddress!,
                    offsets: offsets.baseAddress!,
                    factors: factors.baseAddress!
                )
            }
        }
        let outcome = forwardBackward(batchSize: rowCount, generator: &generator)
        return (outcome.lossSum / Double(rowCount), gradients.array(count: network.parameterCount))
    }

    // MARK: - Prediction

    /// Writes one probability (sigmoid of the logit) per row into `scores`; changes no state
    /// that `state` exposes. Rows: scores.count; features.count == scores.count * inputCount
    /// (a programming error otherwise). Inputs are standardised with the current statistics;
    /// a NaN feature gives a NaN score, so callers check records first.
    public func predict(features: UnsafeBufferPointer<Float>, into scores: UnsafeMutableBufferPointer<Float>) {
        predictLogits(features: features, into: scores)
        for index in scores.indices {
            scores[index] = sigmoid(scores[index])
        }
    }

    /// Same as `predict`, but logits (for a loss that is stable at large magnitudes).
    public func predictLogits(features: UnsafeBufferPointer<Float>, into logits: UnsafeMutableBufferPointer<Float>) {
        reserve(batchSize: min(logits.count, Self.predictionChunkSize))
        standardizer.offsets.withUnsafeBufferPointer { offsets in
            standardizer.factors.withUnsafeBufferPointer { factors in
                Self.predictLogits(
                    network: network,
                    parameters: parameters.pointer,
                    offsets: offsets.baseAddress!,
                    factors: factors.baseAddress!,
                    input: batchInput.pointer,
                    chunkSize: Self.predictionChunkSize,
                    features: features,
                    into: logits
                )
            }
        }
    }

    /// The prediction pass shared by `predictLogits` and `PredictionSnapshot`: standardise
    /// chunks of at most `chunkSize` rows into `input` (feature-major), then run `network`.
    /// The network and `input` must be reserved for `chunkSize` rows.
    static func predictLogits(
        network: any Network,
        parameters: UnsafePointer<Float>,
        offsets: UnsafePointer<Float>,
        factors: UnsafePointer<Float>,
        input: UnsafeMutablePointer<Float>,
        chunkSize: Int,
        features: UnsafeBufferPointer<Float>,
        into logits: UnsafeMutableBufferPointer<Float>
    ) {
        let rowCount = logits.count
        let inputCount = network.inputCount
        precondition(
            features.count == rowCount * inputCount,
            "\(features.count) feature values for \(rowCount) rows of \(inputCount)"
        )
        guard rowCount > 0, let featureBase = features.baseAddress, let logitBase = logits.baseAddress else {
            return
        }
        var start = 0
        while start < rowCount {
            let count = min(chunkSize, rowCount - start)
            for position in 0..<count {
                let values = featureBase + (start + position) * inputCount
                for column in 0..<inputCount {
                    input[column * count + position] = (values[column] - offsets[column]) * factors[column]
                }
            }
            network.forwardPrediction(
                input: input,
                batchSize: count,
                parameters: parameters,
                logits: logitBase + start
            )
            start += count
        }
    }
}
