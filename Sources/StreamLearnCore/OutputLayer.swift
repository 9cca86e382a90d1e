import BLAS

/// The single-logit layer: `logit = w . input + b` per record. It ends the MLP and is all of
/// logistic regression.
///
/// Input is feature-major (`inputCount x batch`, see `DenseLayer`); the weights (`inputCount`
/// of them) sit at `weightOffset` in the parameter vector and the bias right after. Owns no
/// memory.
struct OutputLayer {
    let inputCount: Int
    let weightOffset: Int

    var biasOffset: Int { weightOffset + inputCount }
    var parameterCount: Int { inputCount + 1 }

    /// Glorot-uniform weights (fan out 1), zero bias.
    func initialize(_ parameters: UnsafeMutablePointer<Float>, generator: inout RandomGenerator) {
        glorotInitialize(parameters + weightOffset, inputCount: inputCount, outputCount: 1, generator: &generator)
        parameters[biasOffset] = 0
    }

    /// Writes one logit per record of `input` to `logits`.
    func forward(
        input: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        logits: UnsafeMutablePointer<Float>
    ) {
        BLAS.gemv(
            .transposed,
            rowCount: inputCount,
            columnCount: batchSize,
            alpha: 1,
            a: input,
            leadingDimension: batchSize,
            x: parameters + weightOffset,
            beta: 0,
            y: logits
        )
        let bias = parameters[biasOffset]
        for index in 0..<batchSize {
            logits[index] += bias
        }
    }

    /// Writes the weight gradients (`input * logitGradients`) and the bias gradient (their sum).
    func backward(
        input: UnsafePointer<Float>,
        logitGradients: UnsafePointer<Float>,
        batchSize: Int,
        gradients: UnsafeMutablePointer<Float>
    ) {
        BLAS.gemv(
            .none,
            rowCount: inputCount,
            columnCount: batchSize,
            alpha: 1,
            a: input,
            leadingDimension: batchSize,
            x: logitGradients,
            beta: 0,
            y: gradients + weightOffset
        )
        var sum: Float = 0
        for index in 0..<batchSize {
            sum += logitGradients[index]
        }
        gradients[biasOffset] = sum
    }
}
