import BLAS

/// The MLP: relu `DenseLayer`s with inverted dropout, then one `OutputLayer` logit.
///
/// Scratch per hidden layer: its activations (`units x batch`, kept for backward) and its
/// dropout lanes; two gradient buffers used in turn on the way back; the logits; room for a
/// layer input transposed (`batch x inputs`) where the weight gradients need it. All of it is
/// allocated for the largest batch reserved so far and reused, so a step allocates nothing.
final class MultilayerPerceptron: Network {
    let inputCount: Int
    let layers: [DenseLayer]
    let output: OutputLayer
    let parameterCount: Int
    private let activations: [AlignedBuffer<Float>]
    private let masks: [AlignedBuffer<UInt16>]
    private let gradientBuffers: (AlignedBuffer<Float>, AlignedBuffer<Float>)
    private let logits: AlignedBuffer<Float>
    private let transposedInput: AlignedBuffer<Float>
    /// A vector of ones, one per record: bias gradients are row sums taken as products with it.
    private let ones: AlignedBuffer<Float>
    private let widestLayer: Int

    init(inputCount: Int, hiddenSizes: [Int], dropoutRates: [Float]) {
        precondition(!hiddenSizes.isEmpty && hiddenSizes.count == dropoutRates.count, "bad MLP layout")
        self.inputCount = inputCount
        var layers: [DenseLayer] = []
        var offset = 0
        var fanIn = inputCount
        for (units, rate) in zip(hiddenSizes, dropoutRates) {
            let layer = DenseLayer(inputCount: fanIn, outputCount: units, weightOffset: offset, dropoutRate: rate)
            layers.append(layer)
            offset += layer.parameterCount
            fanIn = units
        }
        self.layers = layers
        output = OutputLayer(inputCount: fanIn, weightOffset: offset)
        parameterCount = offset + output.parameterCount
        activations = hiddenSizes.map { _ in AlignedBuffer(capacity: 0) }
        masks = hiddenSizes.map { _ in AlignedBuffer(capacity: 0) }
        gradientBuffers = (AlignedBuffer(capacity: 0), AlignedBuffer(capacity: 0))
        logits = AlignedBuffer(capacity: 0)
        transposedInput = AlignedBuffer(capacity: 0)
        ones = AlignedBuffer(capacity: 0)
        widestLayer = hiddenSizes.max() ?? 0
    }

    func initialize(_ parameters: UnsafeMutablePointer<Float>, generator: inout RandomGenerator) {
        for layer in layers {
            layer.initialize(parameters, generator: &generator)
        }
        output.initialize(parameters, generator: &generator)
    }

    func reserve(batchSize: Int) {
        for (layer, index) in zip(layers, layers.indices) {
            activations[index].reserve(layer.outputCount * batchSize)
            // Whole 64-bit words of lanes are drawn, four units per word.
            masks[index].reserve((layer.outputCount * batchSize + 3) / 4 * 4)
        }
        gradientBuffers.0.reserve(widestLayer * batchSize)
        gradientBuffers.1.reserve(widestLayer * batchSize)
        logits.reserve(batchSize)
        let transposeCounts = layers.map {
            BLAS.scratchCountForProductWithTransposedB(innerCount: batchSize, columnCount: $0.inputCount)
        }
        transposedInput.reserve(transposeCounts.max() ?? 0)
        if ones.capacity < batchSize {
            ones.reserve(batchSize)
            ones.pointer.update(repeating: 1, count: batchSize)
        }
    }

    /// The dropout lanes the last training pass drew for hidden layer `index` (for tests).
    func dropoutLanes(layer index: Int, batchSize: Int) -> [UInt16] {
        masks[index].array(count: layers[index].outputCount * batchSize)
    }

    func forwardTraining(
        input: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        generator: inout RandomGenerator
    ) -> UnsafePointer<Float> {
        var layerInput = input
        for (layer, index) in zip(layers, layers.indices) {
            let layerOutput = activations[index].pointer
            layer.multiply(input: layerInput, batchSize: batchSize, parameters: parameters, output: layerOutput)
            var lanes: UnsafePointer<UInt16>?
            if layer.dropout.isActive {
                let mask = masks[index].pointer
                generator.fill(mask, wordCount: (layer.outputCount * batchSize + 3) / 4)
                lanes = UnsafePointer(mask)
            }
            layer.activate(layerOutput, batchSize: batchSize, parameters: parameters, mask: lanes)
            layerInput = UnsafePointer(layerOutput)
        }
        output.forward(input: layerInput, batchSize: batchSize, parameters: parameters, logits: logits.pointer)
        return UnsafePointer(logits.pointer)
    }

    func forwardPrediction(
        input: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        logits: UnsafeMutablePointer<Float>
    ) {
        var layerInput = input
        for (layer, index) in zip(layers, layers.indices) {
            let layerOutput = activations[index].pointer
            layer.multiply(input: layerInput, batchSize: batchSize, parameters: parameters, output: layerOutput)
            layer.activate(layerOutput, batchSize: batchSize, parameters: parameters, mask: nil)
            layerInput = UnsafePointer(layerOutput)
        }
        output.forward(input: layerInput, batchSize: batchSize, parameters: parameters, logits: logits)
    }

    func backward(
        input: UnsafePointer<Float>,
        logitGradients: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        gradients: UnsafeMutablePointer<Float>
    ) {
        let last = layers.count - 1
        output.backward(
            input: activations[last].pointer,
            logitGradients: logitGradients,
            batchSize: batchSize,
            gradients: gradients
        )
        var current = gradientBuffers.0.pointer
        var spare = gradientBuffers.1.pointer
        layers[last].backpropagateFromLogits(
            logitGradients,
            outputWeights: parameters + output.weightOffset,
            activations: activations[last].pointer,
            batchSize: batchSize,
            ones: ones.pointer,
            gradient: current,
            biasGradients: gradients + layers[last].biasOffset
        )
        for index in stride(from: last, through: 0, by: -1) {
            let layer = layers[index]
            let layerInput = index == 0 ? input : UnsafePointer(activations[index - 1].pointer)
            layer.weightGradients(
                gradient: current,
                input: layerInput,
                batchSize: batchSize,
                gradients: gradients,
                scratch: transposedInput.pointer
            )
            guard index > 0 else { break }
            // The first layer's input gradient would only reach the data, so it is never formed.
            layer.inputGradient(gradient: current, batchSize: batchSize, parameters: parameters, into: spare)
            let below = layers[index - 1]
            below.backpropagateActivation(
                spare,
                activations: activations[index - 1].pointer,
                batchSize: batchSize,
                ones: ones.pointer,
                biasGradients: gradients + below.biasOffset
            )
            swap(&current, &spare)
        }
    }
}
