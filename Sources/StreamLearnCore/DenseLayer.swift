import BLAS

/// One hidden layer of the MLP: `outputCount` relu units over `inputCount` inputs, followed by
/// inverted dropout at training time.
///
/// Activations are feature-major: a batch of B records is a matrix of `units x B`, one row per
/// unit, so that each unit's bias is added along a contiguous row and each bias gradient is the
/// sum of one. The layer owns no memory: parameters, gradients and scratch are passed in as
/// pointers by its network, which also owns the generator. Weights sit row-major
/// (`outputCount x inputCount`) at `weightOffset` in the parameter vector, biases right after.
struct DenseLayer {
    /// Inverted dropout drawn 16 bits per unit: a unit is dropped when its 16-bit lane is below
    /// `threshold`, and kept units are scaled by `scale` so the expected activation is unchanged.
    ///
    /// The threshold is `rate * 65536` rounded, so the realised rate is within 2^-17 of the
    /// configured one; `scale` is the exact inverse of the realised keep probability.
    struct Dropout {
        let rate: Float
        let threshold: UInt32
        let scale: Float

        init(rate: Float) {
            precondition(rate >= 0 && rate < 1, "dropout rate \(rate) is outside [0, 1)")
            self.rate = rate
            threshold = min(UInt32((Double(rate) * 65536).rounded()), 65535)
            scale = Float(65536 / Double(65536 - threshold))
        }

        /// Whether any unit can be dropped (no random bits are drawn otherwise).
        var isActive: Bool { threshold > 0 }
    }

    let inputCount: Int
    let outputCount: Int
    let weightOffset: Int
    let dropout: Dropout

    init(inputCount: Int, outputCount: Int, weightOffset: Int, dropoutRate: Float) {
        self.inputCount = inputCount
        self.outputCount = outputCount
        self.weightOffset = weightOffset
        dropout = Dropout(rate: dropoutRate)
    }

    var biasOffset: Int { weightOffset + inputCount * outputCount }
    var parameterCount: Int { (inputCount + 1) * outputCount }

    /// Glorot-uniform weights (limit sqrt(6 / (fan in + fan out))) drawn row by row, zero biases.
    func initialize(_ parameters: UnsafeMutablePointer<Float>, generator: inout RandomGenerator) {
        glorotInitialize(
            parameters + weightOffset,
            inputCount: inputCount,
            outputCount: outputCount,
            generator: &generator
        )
        (parameters + biasOffset).update(repeating: 0, count: outputCount)
    }

    /// `output (outputCount x batch) = W * input (inputCount x batch)`, before bias and relu.
    func multiply(
        input: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        BLAS.product(
            .none,
            rowCount: outputCount,
            columnCount: batchSize,
            innerCount: inputCount,
            a: parameters + weightOffset,
            leadingDimensionA: inputCount,
            b: input,
            leadingDimensionB: batchSize,
            c: output,
            leadingDimensionC: batchSize
        )
    }

    /// In place on the products: `relu(z + bias)`, then, when `mask` is given, dropout with its
    /// 16-bit lanes (one per unit and record, same layout as `output`). One pass.
    ///
    /// The fused loops here are written so that the compiler vectorises them: every load is
    /// unconditional and each choice a select, never a branch around a load.
    func activate(
        _ output: UnsafeMutablePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        mask: UnsafePointer<UInt16>?
    ) {
        let biases = parameters + biasOffset
        // Lanes are compared as Float (exact below 2^24), which vectorises on every x86-64.
        let laneThreshold = Float(dropout.threshold)
        let scale = dropout.scale
        for unit in 0..<outputCount {
            let row = output + unit * batchSize
            let bias = biases[unit]
            if let mask {
                let lanes = mask + unit * batchSize
                for index in 0..<batchSize {
                    let value = row[index] + bias
                    let factor = Float(lanes[index]) >= laneThreshold ? scale : 0
                    row[index] = value > 0 ? value * factor : 0
                }
            } else {
                for index in 0..<batchSize {
                    let value = row[index] + bias
                    row[index] = value > 0 ? value : 0
                }
            }
        }
    }

    /// Turns the gradient with respect to this layer's outputs into the gradient with respect
    /// to its pre-activations, in place, and writes the bias gradients (row sums, by BLAS over
    /// `ones`, at least `batchSize` ones).
    ///
    /// A unit passed the gradient exactly when its activation is positive (relu active and
    /// kept by dropout), times the dropout scale; so no mask needs to be kept for backward.
    func backpropagateActivation(
        _ gradient: UnsafeMutablePointer<Float>,
        activations: UnsafePointer<Float>,
        batchSize: Int,
        ones: UnsafePointer<Float>,
        biasGradients: UnsafeMutablePointer<Float>
    ) {
        let scale = dropout.isActive ? dropout.scale : 1
        let count = outputCount * batchSize
        for index in 0..<count {
            let scaled = gradient[index] * scale
            gradient[index] = activations[index] > 0 ? scaled : 0
        }
        sumRows(gradient, batchSize: batchSize, ones: ones, into: biasGradients)
    }

    /// For the last hidden layer: the gradient with respect to its pre-activations straight from
    /// the logit gradients and the output weights (an outer product fused with relu and
    /// dropout), and the bias gradients (row sums over `ones`).
    func backpropagateFromLogits(
        _ logitGradients: UnsafePointer<Float>,
        outputWeights: UnsafePointer<Float>,
        activations: UnsafePointer<Float>,
        batchSize: Int,
        ones: UnsafePointer<Float>,
        gradient: UnsafeMutablePointer<Float>,
        biasGradients: UnsafeMutablePointer<Float>
    ) {
        let scale = dropout.isActive ? dropout.scale : 1
        for unit in 0..<outputCount {
            let row = gradient + unit * batchSize
            let activationRow = activations + unit * batchSize
            let weight = outputWeights[unit] * scale
            for index in 0..<batchSize {
                let value = logitGradients[index] * weight
                row[index] = activationRow[index] > 0 ? value : 0
            }
        }
        sumRows(gradient, batchSize: batchSize, ones: ones, into: biasGradients)
    }

    /// `sums[unit] = sum over the batch of matrix[unit]`, as a product with a vector of ones.
    private func sumRows(
        _ matrix: UnsafePointer<Float>,
        batchSize: Int,
        ones: UnsafePointer<Float>,
        into sums: UnsafeMutablePointer<Float>
    ) {
        BLAS.gemv(
            .none,
            rowCount: outputCount,
            columnCount: batchSize,
            alpha: 1,
            a: matrix,
            leadingDimension: batchSize,
            x: ones,
            beta: 0,
            y: sums
        )
    }

    /// `weightGradients (outputCount x inputCount) = gradient (outputCount x batch) * input^T`.
    ///
    /// `scratch` holds what `BLAS.scratchCountForProductWithTransposedB` asks for (batch as the
    /// inner count, `inputCount` columns): room for the input transposed, at small batches.
    func weightGradients(
        gradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>,
        batchSize: Int,
        gradients: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        BLAS.productWithTransposedB(
            rowCount: outputCount,
            columnCount: inputCount,
            innerCount: batchSize,
            a: gradient,
            leadingDimensionA: batchSize,
            b: input,
            leadingDimensionB: batchSize,
            c: gradients + weightOffset,
            leadingDimensionC: inputCount,
            scratch: scratch
        )
    }

    /// `inputGradient (inputCount x batch) = W^T * gradient (outputCount x batch)`.
    func inputGradient(
        gradient: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        into inputGradient: UnsafeMutablePointer<Float>
    ) {
        BLAS.product(
            .transposed,
            rowCount: inputCount,
            columnCount: batchSize,
            innerCount: outputCount,
            a: parameters + weightOffset,
            leadingDimensionA: inputCount,
            b: gradient,
            leadingDimensionB: batchSize,
            c: inputGradient,
            leadingDimensionC: batchSize
        )
    }
}

/// Glorot-uniform weights for a row-major `outputCount x inputCount` matrix, drawn in memory
/// order: uniform in [-limit, limit) with limit = sqrt(6 / (inputCount + outputCount)).
func glorotInitialize(
    _ weights: UnsafeMutablePointer<Float>,
    inputCount: Int,
    outputCount: Int,
    generator: inout RandomGenerator
) {
    let limit = Float((6 / Double(inputCount + outputCount)).squareRoot())
    for index in 0..<(inputCount * outputCount) {
        weights[index] = (generator.nextUnitFloat() * 2 - 1) * limit
    }
}
