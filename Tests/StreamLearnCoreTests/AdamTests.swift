import BLAS
import Testing

@testable import StreamLearnCore

@Suite("Adam and SGD updates")
struct AdamTests {
    /// Runs the optimizer over `parameters` with one gradient vector per step.
    private func run(
        _ optimizer: inout Optimizer,
        parameters: [Float],
        gradientSteps: [[Float]]
    ) -> [[Float]] {
        var values = parameters
        var history: [[Float]] = []
        for gradients in gradientSteps {
            gradients.withUnsafeBufferPointer { gradients in
                values.withUnsafeMutableBufferPointer { values in
                    optimizer.apply(gradients: gradients.baseAddress!, to: values.baseAddress!)
                }
            }
            history.append(values)
        }
        return history
    }

    @Test("Adam's first two steps give the values worked out by hand")
    func firstTwoSteps() {
        // Keras's Adam, lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7, by hand:
        //
        // Parameter 1.0, gradients 0.5 then -0.25.
        //   t=1: m = 0 + (0.5 - 0) * 0.1 = 0.05;  v = 0 + (0.25 - 0) * 0.001 = 0.00025
        //        alpha = 0.001 * sqrt(1 - 0.999) / (1 - 0.9) = 0.001 * 0.0316227766 / 0.1
        //              = 0.000316227766
        //        step = alpha * m / (sqrt(v) + eps) = 0.0000158113883 / (0.0158113883 + 1e-7)
        //             = 0.000999993675;  parameter = 0.999000006325
        //   t=2: m = 0.05 + (-0.25 - 0.05) * 0.1 = 0.02
        //        v = 0.00025 + (0.0625 - 0.00025) * 0.001 = 0.00031225
        //        alpha = 0.001 * sqrt(1 - 0.998001) / (1 - 0.81) = 0.001 * 0.0447101778 / 0.19
        //              = 0.000235316725
        //        step = 0.00000470633451 / (0.0176705970 + 1e-7) = 0.000266335540
        //        parameter = 0.998733670792
        //
        // Parameter -1.0, gradients -2 then 1.
        //   t=1: m = -0.2;  v = 0.004;  step = -0.0000632455532 / (0.0632455532 + 1e-7)
        //        = -0.000999998419;  parameter = -0.999000001581
        //   t=2: m = -0.2 + (1 + 0.2) * 0.1 = -0.08;  v = 0.004 + (1 - 0.004) * 0.001 = 0.004996
        //        step = 0.000235316725 * -0.08 / (0.0706824023 + 1e-7) = -0.000266333192
        //        parameter = -0.998733664918
        var optimizer = Optimizer(kind: .adam, learningRate: 0.001, parameterCount: 2)
        let history = run(&optimizer, parameters: [1, -1], gradientSteps: [[0.5, -2], [-0.25, 1]])

        // Float32 keeps about 7 digits: parameters near 1 are within 2 ulps (1.2e-7).
        let expected: [[Double]] = [[0.999000006325, -0.999000001581], [0.998733670792, -0.998733664918]]
        for (step, values) in history.enumerated() {
            for (found, wanted) in zip(values, expected[step]) {
                #expect(abs(Double(found) - wanted) <= 1.2e-7, "step \(step + 1): \(found), by hand \(wanted)")
            }
        }
        let state = optimizer.state
        #expect(state.step == 2)
        for (found, wanted) in zip(state.firstMoments, [0.02, -0.08]) {
            #expect(abs(Double(found) - wanted) <= 1e-6 * abs(wanted))
        }
        // 0.999 as Float32 is 0.99900001287, so 1 - beta2 is off by 1.3e-5 relative.
        for (found, wanted) in zip(state.secondMoments, [0.00031225, 0.004996]) {
            #expect(abs(Double(found) - wanted) <= 2e-5 * abs(wanted))
        }
    }

    @Test("Adam's first step moves every parameter by about the learning rate against its gradient")
    func firstStepSize() {
        let count = 37  // four full vectors of eight and a tail
        var generator = RandomGenerator(seed: 1)
        let gradients = (0..<count).map { _ in (generator.nextUnitFloat() - 0.5) * 10 }
        var optimizer = Optimizer(kind: .adam, learningRate: 0.01, parameterCount: count)
        let after = run(&optimizer, parameters: [Float](repeating: 0, count: count), gradientSteps: [gradients])[0]
        for (moved, gradient) in zip(after, gradients) where abs(gradient) > 1e-3 {
            #expect(abs(moved + 0.01 * gradient.sign.floatValue) <= 1e-5, "gradient \(gradient) moved \(moved)")
        }
    }

    @Test("SGD subtracts the learning rate times the gradient and keeps no moments")
    func stochasticGradientDescent() {
        var optimizer = Optimizer(kind: .sgd, learningRate: 0.5, parameterCount: 3)
        let history = run(&optimizer, parameters: [1, 2, 3], gradientSteps: [[1, -2, 0.25], [0.5, 0, -1]])
        #expect(history[0] == [0.5, 3, 2.875])
        #expect(history[1] == [0.25, 3, 3.375])
        #expect(optimizer.state.firstMoments.isEmpty && optimizer.state.secondMoments.isEmpty)
        #expect(optimizer.state.step == 2)
    }

    @Test("A model's Adam moments line up with its parameters after one step")
    func momentsAlignWithParameters() throws {
        let configuration = ModelConfiguration(
            kind: .mlp,
            inputCount: 3,
            hiddenSizes: [5, 4],
            dropoutRates: [0, 0],
            isStandardizing: false,
            seed: 2
        )
        let rows = LabelledRows.generate(rowCount: 10, inputCount: 3, seed: 4) { $0[0] > 0 }
        let probe = Model(configuration: configuration)
        let gradients = rows.features.withUnsafeBufferPointer { features in
            rows.labels.withUnsafeBufferPointer { labels in
                probe.lossAndGradients(features: features, labels: labels).gradients
            }
        }
        let model = Model(configuration: configuration)
        try model.fit(rows, batchSize: 10, shuffle: false)
        let optimizer = model.state.optimizer
        let firstRate: Float = 1 - 0.9
        let secondRate: Float = 1 - 0.999
        #expect(optimizer.firstMoments.map(\.bitPattern) == gradients.map { ($0 * firstRate).bitPattern })
        #expect(optimizer.secondMoments.map(\.bitPattern) == gradients.map { ($0 * $0 * secondRate).bitPattern })
    }
}

extension AdamTests {
    @Test("The vectorised Adam step gives the bits of a plain loop, tail included", arguments: [1, 8, 1003])
    func vectorisedStepMatchesPlainLoop(count: Int) {
        var generator = RandomGenerator(seed: UInt64(count))
        func values(_ scale: Float) -> [Float] {
            (0..<count).map { _ in Float(generator.nextStandardNormal()) * scale }
        }
        let gradients = values(0.1)
        var parameters = values(1)
        var first = values(0.01)
        var second = values(0.001).map(abs)
        var expectedParameters = parameters
        var expectedFirst = first
        var expectedSecond = second
        let (alpha, firstRate, secondRate, epsilon): (Float, Float, Float, Float) = (0.0013, 0.1, 0.001, 1e-7)
        for index in 0..<count {
            let gradient = gradients[index]
            let m = expectedFirst[index] + (gradient - expectedFirst[index]) * firstRate
            let v = expectedSecond[index] + (gradient * gradient - expectedSecond[index]) * secondRate
            expectedFirst[index] = m
            expectedSecond[index] = v
            expectedParameters[index] -= m * alpha / (abs(v).squareRoot() + epsilon)
        }
        BLAS.adamStep(
            count: count,
            parameters: &parameters,
            gradients: gradients,
            firstMoments: &first,
            secondMoments: &second,
            alpha: alpha,
            firstRate: firstRate,
            secondRate: secondRate,
            epsilon: epsilon
        )
        #expect(parameters.map(\.bitPattern) == expectedParameters.map(\.bitPattern))
        #expect(first.map(\.bitPattern) == expectedFirst.map(\.bitPattern))
        #expect(second.map(\.bitPattern) == expectedSecond.map(\.bitPattern))
    }
}

extension FloatingPointSign {
    fileprivate var floatValue: Float { self == .minus ? -1 : 1 }
}
