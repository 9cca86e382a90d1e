import Kafka

/// Why the inference loop could not go on, worded for an operator.
public enum InferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The predictions topic does not exist (the daemon does not create it).
    case missingPredictionsTopic(String)
    /// Reading the tail of a predictions partition took longer than allowed.
    case scanTimedOut(topic: String, partition: Int32, timeout: Duration)
    /// `stop()` was called while the loop waited for deliveries; the batch was not committed.
    case stopped
    /// A test stopped the loop at a chosen point, as a crash would.
    case simulatedCrash

    public var description: String {
        switch self {
        case .missingPredictionsTopic(let topic):
            "Failed to find predictions topic '\(topic)': create it before starting inference"
        case .scanTimedOut(let topic, let partition, let timeout):
            "Failed to read the tail of predictions partition '\(topic)'[\(partition)] within \(timeout)"
        case .stopped:
            "Inference stopped before the batch's predictions were delivered; its offsets stay uncommitted"
        case .simulatedCrash:
            "Inference stopped by a simulated crash"
        }
    }
}
