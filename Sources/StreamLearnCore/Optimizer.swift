import BLAS
import Foundation

/// Adam or plain SGD over the model's contiguous parameter vector, in one fused pass.
///
/// Adam follows Keras exactly: at step t (from 1),
/// `alpha = learningRate * sqrt(1 - beta2^t) / (1 - beta1^t)`, `m += (g - m) * (1 - beta1)`,
/// `v += (g * g - v) * (1 - beta2)`, `parameter -= alpha * m / (sqrt(v) + epsilon)`; epsilon
/// is added to the square root of the uncorrected second moment, as Keras does. `alpha` is
/// worked out in Double once per step and rounded to Float. SGD is
/// `parameter -= learningRate * g`. Owned by one model; not thread-safe.
struct Optimizer {
    /// Keras's Adam defaults.
    static let defaultBeta1: Float = 0.9
    static let defaultBeta2: Float = 0.999
    static let defaultEpsilon: Float = 1e-7

    let kind: OptimizerState.Kind
    let learningRate: Float
    let beta1: Float
    let beta2: Float
    let epsilon: Float
    private(set) var step: Int64
    private let parameterCount: Int
    /// Adam's moments, aligned with the parameters; empty (capacity 0) for SGD.
    private let firstMoments: AlignedBuffer<Float>
    private let secondMoments: AlignedBuffer<Float>

    init(kind: OptimizerState.Kind, learningRate: Float, parameterCount: Int) {
        self.kind = kind
        self.learningRate = learningRate
        beta1 = Self.defaultBeta1
        beta2 = Self.defaultBeta2
        epsilon = Self.defaultEpsilon
        step = 0
        self.parameterCount = parameterCount
        let momentCount = kind == .adam ? parameterCount : 0
        firstMoments = AlignedBuffer(capacity: momentCount)
        secondMoments = AlignedBuffer(capacity: momentCount)
    }

    /// Restores a saved optimizer; throws `ModelError.invalidState` naming the value that does
    /// not fit (moment arrays of the wrong length, hyperparameters out of range).
    init(state: OptimizerState, parameterCount: Int) throws {
        let momentCount = state.kind == .adam ? parameterCount : 0
        guard state.firstMoments.count == momentCount, state.secondMoments.count == momentCount else {
            throw ModelError.invalidState(
                "optimizer has \(state.firstMoments.count) first and \(state.secondMoments.count) "
                    + "second moments, \(state.kind == .adam ? "Adam" : "SGD") over "
                    + "\(parameterCount) parameters needs \(momentCount) of each"
            )
        }
        guard state.learningRate.isFinite, state.learningRate > 0 else {
            throw ModelError.invalidState("optimizer learning rate is \(state.learningRate), not positive")
        }
        guard state.beta1 >= 0, state.beta1 < 1, state.beta2 >= 0, state.beta2 < 1 else {
            throw ModelError.invalidState(
                "optimizer betas are \(state.beta1) and \(state.beta2), each must be in [0, 1)"
            )
        }
        guard state.epsilon.isFinite, state.epsilon > 0 else {
            throw ModelError.invalidState("optimizer epsilon is \(state.epsilon), not positive")
        }
        guard state.step >= 0 else {
            throw ModelError.invalidState("optimizer step is \(state.step), below 0")
        }
        kind = state.kind
        learningRate = state.learningRate
        beta1 = state.beta1
        beta2 = state.beta2
        epsilon = state.epsilon
        step = state.step
        self.parameterCount = parameterCount
        firstMoments = AlignedBuffer(copying: state.firstMoments)
        secondMoments = AlignedBuffer(copying: state.secondMoments)
    }

    var state: OptimizerState {
        OptimizerState(
            kind: kind,
            learningRate: learningRate,
            beta1: beta1,
            beta2: beta2,
            epsilon: epsilon,
            step: step,
            firstMoments: firstMoments.array(count: firstMoments.capacity),
            secondMoments: secondMoments.array(count: secondMoments.capacity)
        )
    }

    /// Applies one update with `gradients` (same layout as `parameters`) and counts the step.
    mutating func apply(gradients: UnsafePointer<Float>, to parameters: UnsafeMutablePointer<Float>) {
        step += 1
        switch kind {
        case .sgd:
            BLAS.axpy(count: parameterCount, alpha: -learningRate, x: gradients, y: parameters)
        case .adam:
            let t = Double(step)
            let correction = (1 - pow(Double(beta2), t)).squareRoot() / (1 - pow(Double(beta1), t))
            // One pass over the five arrays; |v| keeps the square root branch-free (v >= 0).
            BLAS.adamStep(
                count: parameterCount,
                parameters: parameters,
                gradients: gradients,
                firstMoments: firstMoments.pointer,
                secondMoments: secondMoments.pointer,
                alpha: Float(Double(learningRate) * correction),
                firstRate: 1 - beta1,
                secondRate: 1 - beta2,
                epsilon: epsilon
            )
        }
    }
}
