/// The prediction half of a `Model` as it was at one moment: its parameters and standardiser
/// scaling, copied, with scratch of its own.
///
/// The daemon scores each mini-dataset with the model from before training on it (prequential
/// metrics). With a snapshot the scoring runs on another core while the model trains, instead
/// of before: `capture(_:)` on the training thread, then `predictLogits` on any one thread
/// while the model goes on. A snapshot gives the logits `Model.predictLogits` gave on the
/// captured model, to float rounding: it predicts in smaller chunks, whose products may sum in
/// another order. Metrics need no more; predictions that must match a checkpoint use a `Model`.
///
/// Allocation: all at init; `capture` copies into its buffers and `predictLogits` allocates
/// nothing. Not thread-safe: one capture or prediction at a time.
public final class PredictionSnapshot {
    private let network: any Network
    private let parameters: AlignedBuffer<Float>
    private let offsets: AlignedBuffer<Float>
    private let factors: AlignedBuffer<Float>
    private let input: AlignedBuffer<Float>

    /// Chunks smaller than `Model.predictionChunkSize`: the network's scratch is made for
    /// training too, and a snapshot only ever predicts.
    static let chunkSize = 128

    /// A snapshot shaped for `model`, holding a copy of it as it is now.
    public init(of model: Model) {
        network = Model.makeNetwork(
            kind: model.kind,
            inputCount: model.inputCount,
            hiddenSizes: model.hiddenSizes,
            dropoutRates: model.dropoutRates
        )
        network.reserve(batchSize: Self.chunkSize)
        parameters = AlignedBuffer(capacity: network.parameterCount)
        offsets = AlignedBuffer(capacity: model.inputCount)
        factors = AlignedBuffer(capacity: model.inputCount)
        input = AlignedBuffer(capacity: Self.chunkSize * model.inputCount)
        capture(model)
    }

    /// Copies `model`'s parameters and scaling; `model` must have the shape this was made for.
    public func capture(_ model: Model) {
        precondition(
            model.parameterCount == network.parameterCount && model.inputCount == network.inputCount,
            "a snapshot of \(network.parameterCount) parameters cannot hold \(model.configurationShape)"
        )
        parameters.pointer.update(from: model.parameters.pointer, count: network.parameterCount)
        model.standardizer.offsets.withUnsafeBufferPointer { source in
            offsets.pointer.update(from: source.baseAddress!, count: network.inputCount)
        }
        model.standardizer.factors.withUnsafeBufferPointer { source in
            factors.pointer.update(from: source.baseAddress!, count: network.inputCount)
        }
    }

    /// Writes one logit per row, as `Model.predictLogits` does on the captured model.
    public func predictLogits(features: UnsafeBufferPointer<Float>, into logits: UnsafeMutableBufferPointer<Float>) {
        Model.predictLogits(
            network: network,
            parameters: parameters.pointer,
            offsets: offsets.pointer,
            factors: factors.pointer,
            input: input.pointer,
            chunkSize: Self.chunkSize,
            features: features,
            into: logits
        )
    }
}
