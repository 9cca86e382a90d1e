import Kafka
import StreamLearnCore

/// What the inference loop needs from the daemon's configuration.
public struct InferenceSettings: Sendable {
    /// Client properties shared by the consumer and the producer (bootstrap servers, security).
    /// The loop adds group.id for its consumer; it commits offsets itself.
    public var kafka: KafkaConfiguration
    /// "inference.topics".
    public var topics: [String]
    /// "inference.group_id".
    public var groupID: String
    /// "inference.predictions_topic"; it must exist.
    public var predictionsTopic: String
    /// "inference.delivery".
    public var delivery: DaemonConfiguration.Delivery
    /// The record layout (training.format): inference records look like training records,
    /// except that they may lack the label.
    public var decoder: RecordDecoder
    /// The daemon's instance name.
    public var instance: String
    /// Most records scored per poll. Default 1024.
    public var pollMaxRecords: Int
    /// How long a poll waits for the first record. Default 500 ms.
    public var pollTimeout: Duration
    /// Timeout of metadata, watermark and committed-offset requests. Default 30 s.
    public var requestTimeout: Duration
    /// Records in the first window of a resume scan. Default 4096.
    public var scanInitialWindow: Int64
    /// The most prediction records a resume scan reads per predictions partition. Default 10^7.
    public var scanMaximumRecords: Int64

    public init(
        kafka: KafkaConfiguration,
        topics: [String],
        groupID: String,
        predictionsTopic: String,
        delivery: DaemonConfiguration.Delivery = .exactlyOnce,
        decoder: RecordDecoder,
        instance: String,
        pollMaxRecords: Int = 1024,
        pollTimeout: Duration = .milliseconds(500),
        requestTimeout: Duration = .seconds(30),
        scanInitialWindow: Int64 = 4096,
        scanMaximumRecords: Int64 = 10_000_000
    ) {
        precondition(pollMaxRecords >= 1, "a poll takes at least one record")
        self.kafka = kafka
        self.topics = topics
        self.groupID = groupID
        self.predictionsTopic = predictionsTopic
        self.delivery = delivery
        self.decoder = decoder
        self.instance = instance
        self.pollMaxRecords = pollMaxRecords
        self.pollTimeout = pollTimeout
        self.requestTimeout = requestTimeout
        self.scanInitialWindow = scanInitialWindow
        self.scanMaximumRecords = scanMaximumRecords
    }

    /// The settings of `configuration`'s inference section, or nil when it has none; `kafka`
    /// is the client configuration built from its kafka section.
    public init?(configuration: DaemonConfiguration, kafka: KafkaConfiguration) {
        guard let inference = configuration.inference else { return nil }
        self.init(
            kafka: kafka,
            topics: inference.topics,
            groupID: inference.groupID,
            predictionsTopic: inference.predictionsTopic,
            delivery: inference.delivery,
            decoder: configuration.training.format.recordDecoder,
            instance: configuration.instance,
            pollMaxRecords: configuration.training.pollMaxRecords,
            pollTimeout: min(configuration.training.pollTimeout, .milliseconds(500))
        )
    }
}
