/// What `Model` needs from a learner's layers: initial parameters, a forward pass at training
/// and at prediction time, and a backward pass.
///
/// Inputs arrive standardised and feature-major (`inputCount x batch`); parameters and
/// gradients are the model's contiguous vectors in `ModelState.parameters` order. A network
/// owns its activation scratch, sized for the largest batch it was asked to reserve; it keeps
/// nothing between steps that affects results. Not thread-safe: one model owns it.
protocol Network: AnyObject {
    var inputCount: Int { get }
    var parameterCount: Int { get }

    /// Writes initial parameters, drawing from `generator`.
    func initialize(_ parameters: UnsafeMutablePointer<Float>, generator: inout RandomGenerator)

    /// Grows the scratch so that batches of up to `batchSize` records fit.
    func reserve(batchSize: Int)

    /// The training forward pass (dropout active); returns the logits, valid until the next call.
    func forwardTraining(
        input: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        generator: inout RandomGenerator
    ) -> UnsafePointer<Float>

    /// The prediction forward pass (no dropout), writing one logit per record to `logits`.
    func forwardPrediction(
        input: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        logits: UnsafeMutablePointer<Float>
    )

    /// The backward pass after `forwardTraining` on the same input: overwrites every gradient.
    func backward(
        input: UnsafePointer<Float>,
        logitGradients: UnsafePointer<Float>,
        batchSize: Int,
        parameters: UnsafePointer<Float>,
        gradients: UnsafeMutablePointer<Float>
    )
}
