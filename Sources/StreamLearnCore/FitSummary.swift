/// What one `Model.fit` call saw: how many records it trained on (rows times epochs), and the
/// mean loss and accuracy of the batches computed in the forward pass of each batch, before
/// that batch's update. Both are 0 when no record was trained.
public struct FitSummary: Equatable, Sendable {
    public var records: Int
    /// Mean binary cross-entropy per record, in nats.
    public var meanLoss: Double
    /// Fraction of records whose logit had the label's sign (probability above 0.5 for 1).
    public var accuracy: Double

    public init(records: Int, meanLoss: Double, accuracy: Double) {
        self.records = records
        self.meanLoss = meanLoss
        self.accuracy = accuracy
    }
}
