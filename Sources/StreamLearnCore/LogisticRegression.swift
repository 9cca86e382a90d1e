/// Logistic regression: one `OutputLayer` straight on the inputs, no hidden layer, no dropout.
final class LogisticRegression: Network {
    let inputCount: Int
    private let layer: OutputLayer
    private let logits: AlignedBuffer<Float>

    init(inputCount: Int) {
        self.inputCount = inputCount
        layer = OutputLayer(inputCount: inputCount, weightOffset: 0)
        logits = AlignedBuffer(capacity: 0)
    }

    var parameterCount: Int { layer.parameterCount }

    func initialize(_ parameters: UnsafeMutablePointer<Float>, generator: inout RandomGenerator) {
        layer.initialize(parameters, generator: &generator)
    }

    func reserve(batchSize: Int) {
        logits.reserve(batchSize)
    }

    func forwardTraining(
        input: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        generator: inout RandomGenerator
    ) -> UnsafePointer<Float> {
        layer.forward(input: input, batchSize: batchSize, parameters: parameters, logits: logits.pointer)
        return UnsafePointer(logits.pointer)
    }

    func forwardPrediction(
        input: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        logits: UnsafeMutablePointer<Float>
    ) {
        layer.forward(input: input, batchSize: batchSize, parameters: parameters, logits: logits)
    }

    func backward(
        input: UnsafePointer<Float>,
        logitGradients: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        gradients: UnsafeMutablePointer<Float>
    ) {
        layer.backward(input: input, logitGradients: logitGradients, batchSize: batchSize, gradients: gradients)
    }
}
