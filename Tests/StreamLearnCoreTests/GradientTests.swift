import Foundation
import Testing

@testable import StreamLearnCore

/// A plain Float64 MLP written from the textbook equations, batch-major and loop by loop, with
/// the dropout decisions given from outside. It shares no code with the engine.
private struct ReferenceNetwork {
    var inputCount: Int
    var hiddenSizes: [Int]
    /// Per hidden layer, per unit and record (`unit * batch + record`): kept by dropout?
    var kept: [[Bool]]
    /// Per hidden layer, the factor kept units are scaled by.
    var scales: [Double]
    var features: [[Double]]
    var labels: [Double]

    var batchSize: Int { labels.count }

    /// Fan-in and fan-out of every layer including the output.
    private var shapes: [(inputs: Int, outputs: Int)] {
        let sizes = [inputCount] + hiddenSizes + [1]
        return (0..<(sizes.count - 1)).map { (sizes[$0], sizes[$0 + 1]) }
    }

    private struct Pass {
        /// Activations per layer (index 0 = the inputs), each `[record][unit]`.
        var activations: [[[Double]]]
        /// Pre-activations per hidden layer, each `[record][unit]`.
        var preActivations: [[[Double]]]
        var logits: [Double]
    }

    private func forward(_ parameters: [Double]) -> Pass {
        var activations = [features]
        var preActivations: [[[Double]]] = []
        var offset = 0
        var logits: [Double] = []
        for (layer, shape) in shapes.enumerated() {
            let input = activations[layer]
            let biasOffset = offset + shape.inputs * shape.outputs
            var z = [[Double]](repeating: [Double](repeating: 0, count: shape.outputs), count: batchSize)
            for record in 0..<batchSize {
                for unit in 0..<shape.outputs {
                    var sum = parameters[biasOffset + unit]
                    for source in 0..<shape.inputs {
                        sum += parameters[offset + unit * shape.inputs + source] * input[record][source]
                    }
                    z[record][unit] = sum
                }
            }
            offset = biasOffset + shape.outputs
            if layer == hiddenSizes.count {
                logits = z.map { $0[0] }
            } else {
                preActivations.append(z)
                var a = z
                for record in 0..<batchSize {
                    for unit in 0..<shape.outputs {
                        let isKept = kept[layer][unit * batchSize + record]
                        a[record][unit] = isKept ? max(z[record][unit], 0) * scales[layer] : 0
                    }
                }
                activations.append(a)
            }
        }
        return Pass(activations: activations, preActivations: preActivations, logits: logits)
    }

    /// Mean binary cross-entropy from logits.
    func loss(_ parameters: [Double]) -> Double {
        let logits = forward(parameters).logits
        var total = 0.0
        for (logit, label) in zip(logits, labels) {
            total += max(logit, 0) - logit * label + log1p(exp(-abs(logit)))
        }
        return total / Double(batchSize)
    }

    /// Gradients of `loss` by backpropagation, in parameter order.
    func gradients(_ parameters: [Double]) -> [Double] {
        let pass = forward(parameters)
        var result = [Double](repeating: 0, count: parameters.count)
        // d(mean loss)/d(logit) = (sigmoid(logit) - label) / batch.
        var upstream = zip(pass.logits, labels).map { logit, label in
            [(1 / (1 + exp(-logit)) - label) / Double(batchSize)]
        }
        var offsets: [Int] = []
        var offset = 0
        for shape in shapes {
            offsets.append(offset)
            offset += (shape.inputs + 1) * shape.outputs
        }
        for layer in stride(from: shapes.count - 1, through: 0, by: -1) {
            let shape = shapes[layer]
            let weightOffset = offsets[layer]
            let biasOffset = weightOffset + shape.inputs * shape.outputs
            let input = pass.activations[layer]
            for record in 0..<batchSize {
                for unit in 0..<shape.outputs {
                    let delta = upstream[record][unit]
                    result[biasOffset + unit] += delta
                    for source in 0..<shape.inputs {
                        result[weightOffset + unit * shape.inputs + source] += delta * input[record][source]
                    }
                }
            }
            guard layer > 0 else { break }
            // Through the weights, then through relu and dropout of the layer below.
            let below = layer - 1
            var next = [[Double]](repeating: [Double](repeating: 0, count: shape.inputs), count: batchSize)
            for record in 0..<batchSize {
                for source in 0..<shape.inputs {
                    var sum = 0.0
                    for unit in 0..<shape.outputs {
                        sum += upstream[record][unit] * parameters[weightOffset + unit * shape.inputs + source]
                    }
                    let isActive =
                        pass.preActivations[below][record][source] > 0
                        && kept[below][source * batchSize + record]
                    next[record][source] = isActive ? sum * scales[below] : 0
                }
            }
            upstream = next
        }
        return result
    }
}

@Suite("Gradients against finite differences")
struct GradientTests {
    /// Runs one batch through the engine and the reference (same parameters, same dropout
    /// decisions) and checks the reference against central differences and the engine against
    /// the reference, for every parameter of every layer.
    private func check(configuration: ModelConfiguration, rowCount: Int) throws {
        let rows = LabelledRows.generate(rowCount: rowCount, inputCount: configuration.inputCount, seed: 5) {
            $0[0] - $0[1] > 0
        }
        // Fresh biases are exactly 0, which puts a unit whose inputs were all dropped right on
        // relu's kink, where finite differences are meaningless; shift every parameter a little.
        var state = Model(configuration: configuration).state
        var shifts = RandomGenerator(seed: 99)
        state.parameters = state.parameters.map { $0 + (shifts.nextUnitFloat() - 0.5) * 0.2 }
        let model = try Model(state: state)
        let parameters = model.state.parameters.map(Double.init)
        let engine = rows.features.withUnsafeBufferPointer { features in
            rows.labels.withUnsafeBufferPointer { labels in
                model.lossAndGradients(features: features, labels: labels)
            }
        }

        var kept: [[Bool]] = []
        var scales: [Double] = []
        if let network = model.network as? MultilayerPerceptron {
            for (index, layer) in network.layers.enumerated() {
                let dropout = layer.dropout
                scales.append(dropout.isActive ? Double(dropout.scale) : 1)
                if dropout.isActive {
                    let lanes = network.dropoutLanes(layer: index, batchSize: rowCount)
                    kept.append(lanes.map { UInt32($0) >= dropout.threshold })
                } else {
                    kept.append([Bool](repeating: true, count: layer.outputCount * rowCount))
                }
            }
        }
        let inputCount = configuration.inputCount
        let reference = ReferenceNetwork(
            inputCount: inputCount,
            hiddenSizes: configuration.hiddenSizes,
            kept: kept,
            scales: scales,
            features: (0..<rowCount).map { row in
                rows.features[(row * inputCount)..<((row + 1) * inputCount)].map(Double.init)
            },
            labels: rows.labels.map(Double.init)
        )

        // Dropout must really have dropped units somewhere, or the check would not cover it.
        if configuration.dropoutRates.contains(where: { $0 > 0 }) {
            #expect(kept.joined().contains(false))
        }

        let analytic = reference.gradients(parameters)
        // Central differences in Float64: truncation error ~ h^2 and rounding ~ 1e-16 / h are
        // both ~1e-12 at h = 1e-6, and a relu kink is crossed with probability ~1e-6.
        let step = 1e-6
        for index in parameters.indices {
            var plus = parameters
            plus[index] += step
            var minus = parameters
            minus[index] -= step
            let numeric = (reference.loss(plus) - reference.loss(minus)) / (2 * step)
            #expect(
                abs(analytic[index] - numeric) <= 1e-8 + 1e-5 * abs(numeric),
                "reference parameter \(index): backprop \(analytic[index]), finite difference \(numeric)"
            )
        }

        // The engine computes in Float32: each gradient is a sum of a few dozen products of
        // values near 1, so its rounding error is ~1e-6 absolute; 1e-3 relative catches any
        // wrong term, which would be off by the size of a whole product.
        #expect(abs(engine.meanLoss - reference.loss(parameters)) <= 1e-5)
        for index in parameters.indices {
            let expected = analytic[index]
            let found = Double(engine.gradients[index])
            #expect(
                abs(found - expected) <= 1e-6 + 1e-3 * abs(expected),
                "engine parameter \(index) (\(configuration.shapeDescription)): \(found), reference \(expected)"
            )
        }
        #expect(analytic.contains { abs($0) > 1e-3 }, "the gradients are not all vanishing")
    }

    @Test("MLP gradients of every layer with relu and dropout match the Float64 reference")
    func multilayerPerceptron() throws {
        let configuration = ModelConfiguration(
            kind: .mlp,
            inputCount: 4,
            hiddenSizes: [6, 5, 3],
            dropoutRates: [0.25, 0.5, 0],
            isStandardizing: false,
            seed: 3
        )
        try check(configuration: configuration, rowCount: 11)
    }

    @Test("MLP gradients at a batch of full SIMD blocks plus a tail match the reference")
    func widerBatch() throws {
        let configuration = ModelConfiguration(
            kind: .mlp,
            inputCount: 3,
            hiddenSizes: [9, 4],
            dropoutRates: [0.4, 0.2],
            isStandardizing: false,
            seed: 8
        )
        try check(configuration: configuration, rowCount: 19)
    }

    @Test("Logistic regression gradients match the reference")
    func logisticRegression() throws {
        var configuration = ModelConfiguration.logistic(inputCount: 5)
        configuration.isStandardizing = false
        try check(configuration: configuration, rowCount: 9)
    }

    @Test("The loss's derivative is sigmoid(logit) - label, by central differences")
    func lossDerivative() {
        // Float32 central differences at h = 1e-2: truncation h^2/6 * |f'''| <= 2e-6 (f''' of
        // softplus is at most 0.1), rounding 2 * 6e-8 / 2e-2 ~ 6e-6; 1e-4 leaves room for both.
        let step: Float = 1e-2
        for label: Float in [0, 1] {
            for logit: Float in [-8, -3, -0.7, 0, 0.4, 2.5, 9] {
                let numeric =
                    (binaryCrossEntropy(logit: logit + step, label: label)
                        - binaryCrossEntropy(logit: logit - step, label: label)) / (2 * step)
                let analytic = sigmoid(logit) - label
                #expect(abs(numeric - analytic) <= 1e-4, "logit \(logit), label \(label)")
            }
        }
    }

    @Test("The loss stays finite and exact at large logits")
    func lossAtLargeMagnitudes() {
        #expect(binaryCrossEntropy(logit: 1000, label: 0) == 1000)
        #expect(binaryCrossEntropy(logit: -1000, label: 1) == 1000)
        #expect(binaryCrossEntropy(logit: 1000, label: 1) == 0)
        #expect(binaryCrossEntropy(logit: -1000, label: 0) == 0)
        #expect(abs(binaryCrossEntropy(logit: 0, label: 1) - Float(log(2.0))) <= 1e-7)
        #expect(sigmoid(-1000) == 0)
        #expect(sigmoid(1000) == 1)
        #expect(binaryCrossEntropy(logit: .nan, label: 1).isNaN)
    }
}
