/// A model with the stream positions it has learned up to: what the daemon writes to disk and
/// resumes from.
///
/// The offsets are the next offset to train per partition, so a restart continues exactly after
/// the last record the model learned from. `CheckpointCodec` turns it into bytes and back, bit
/// for bit; `CheckpointStore` keeps the files.
public struct Checkpoint: Equatable, Sendable {
    /// Increases by one per checkpoint written; names the file and orders the files.
    public var sequence: Int64
    public var model: ModelState
    /// Per partition, the offset of the next record to train (one past the last one learned).
    public var offsets: [TopicPartition: Int64]
    /// Free-form text (config hash, created time, streamlearn version); see `MetadataKey`.
    public var metadata: [String: String]

    public init(
        sequence: Int64,
        model: ModelState,
        offsets: [TopicPartition: Int64] = [:],
        metadata: [String: String] = [:]
    ) {
        self.sequence = sequence
        self.model = model
        self.offsets = offsets
        self.metadata = metadata
    }

    /// Keys the daemon and the commands agree on for `metadata`.
    public enum MetadataKey {
        /// Hash of the configuration the model was trained under.
        public static let configHash = "config_hash"
        /// When the checkpoint was written, RFC 3339 in UTC.
        public static let createdAt = "created_at"
        /// `streamlearn --version` of the writer.
        public static let writerVersion = "streamlearn_version"
        /// Instance name of the daemon that wrote it.
        public static let instance = "instance"
    }
}
