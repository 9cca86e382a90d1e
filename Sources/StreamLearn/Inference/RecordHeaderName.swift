/// Names of the headers that streamlearn adds to the messages it writes: the source of a
/// prediction, and the source and reason of a dead letter.
///
/// Values are UTF-8 text: topic names as they are, partitions and offsets as decimal integers,
/// reasons as `DecodeFailure.reason` names them. The prefix keeps them apart from headers that
/// producers of the input may have set (a dead letter keeps those too).
public enum RecordHeaderName {
    /// The input record's topic.
    public static let sourceTopic = "streamlearn.source.topic"
    /// The input record's partition, in decimal.
    public static let sourcePartition = "streamlearn.source.partition"
    /// The input record's offset, in decimal.
    public static let sourceOffset = "streamlearn.source.offset"
    /// Why a record was dead-lettered: "empty", "oversized", "wrong_field_count",
    /// "not_a_number", "not_finite" or "bad_label".
    public static let reason = "streamlearn.reason"
    /// The reason as a sentence for people, e.g. "field 8 is not a number: 'abc'".
    public static let reasonDetail = "streamlearn.reason.detail"
    /// The `instance` name of the daemon that wrote the message.
    public static let instance = "streamlearn.instance"
}
