/// Writes the JSON value of one prediction message into a reusable byte buffer:
/// {"topic":"t","partition":0,"offset":12,"score":0.731,"label":1,"model_step":40,
/// "checkpoint_sequence":3}.
///
/// "score" is the probability written as Swift writes a Float (the shortest text that reads
/// back to the same Float, as `streamlearn predict` prints it), or null when it is not finite;
/// "label" is present only for labelled records; "checkpoint_sequence" is null when the model
/// did not come from a checkpoint. Not thread-safe; one per inference loop.
struct PredictionValueWriter {
    private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(256)
    }

    /// Replaces the buffer's contents with the value for one prediction.
    mutating func write(
        topic: String,
        partition: Int32,
        offset: Int64,
        score: Float,
        label: Float?,
        version: ModelVersion
    ) {
        bytes.removeAll(keepingCapacity: true)
        append("{\"topic\":")
        appendString(topic)
        append(",\"partition\":")
        append(String(partition))
        append(",\"offset\":")
        append(String(offset))
        append(",\"score\":")
        append(score.isFinite ? score.description : "null")
        if let label {
            append(",\"label\":")
            append(label >= 0.5 ? "1" : "0")
        }
        append(",\"model_step\":")
        append(String(version.step))
        append(",\"checkpoint_sequence\":")
        append(version.checkpointSequence.map { String($0) } ?? "null")
        append("}")
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// A JSON string; Kafka topic names need no escaping, but the writer does not rely on it.
    private mutating func appendString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
