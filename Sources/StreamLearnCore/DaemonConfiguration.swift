/// The configuration of `streamlearn run`, decoded from its JSON file and validated as a whole.
///
/// Obtain one with `DaemonConfiguration.load(contentsOf:)` (or `decode(_:path:)` for bytes in
/// hand): either every section is valid, or a `ConfigurationError` lists every problem with its
/// key path. The JSON keys are snake_case as in DESIGN.md; each field's documentation names its
/// key, default and allowed range. config/README.md explains the same for operators.
///
/// A value type without references: safe to share between queues.
public struct DaemonConfiguration: Equatable, Sendable {
    /// "kafka": librdkafka properties. Required, with at least "bootstrap.servers".
    public var kafka: KafkaSection
    /// "training": what to learn from and how. Required.
    public var training: TrainingSection
    /// "model": the learner. Required (it may be empty, `{}`, for every default).
    public var model: ModelSection
    /// "checkpoint": where and how often the model is saved. Required.
    public var checkpoint: CheckpointSection
    /// "metrics": optional; without it, metrics still go to the log and the systemd status
    /// every 10 seconds, but to no topic.
    public var metrics: MetricsSection
    /// "inference": optional; nil means the daemon only trains.
    public var inference: InferenceSection?
    /// "dead_letter": optional; nil means bad records are only counted and logged.
    public var deadLetter: DeadLetterSection?
    /// "log_level": the least severe level written. Default "info"; one of "emerg", "alert",
    /// "crit", "err", "warning", "notice", "info", "debug" (and their long forms).
    public var logLevel: LogLevel
    /// "instance": this daemon's name, the key of its metrics messages and a dead-letter header.
    /// Default: the host name. At most 255 bytes, no control characters.
    public var instance: String

    public init(
        kafka: KafkaSection,
        training: TrainingSection,
        model: ModelSection,
        checkpoint: CheckpointSection,
        metrics: MetricsSection = MetricsSection(),
        inference: InferenceSection? = nil,
        deadLetter: DeadLetterSection? = nil,
        logLevel: LogLevel = .info,
        instance: String
    ) {
        self.kafka = kafka
        self.training = training
        self.model = model
        self.checkpoint = checkpoint
        self.metrics = metrics
        self.inference = inference
        self.deadLetter = deadLetter
        self.logLevel = logLevel
        self.instance = instance
    }
}

extension DaemonConfiguration {
    /// One librdkafka property as the daemon passes it to `rd_kafka_conf_set`.
    public struct KafkaProperty: Equatable, Sendable {
        /// The librdkafka property name, for example "bootstrap.servers".
        public var key: String
        /// The value as text: strings as written, numbers as their literal, booleans as
        /// "true"/"false", secrets as read from their file or environment variable.
        public var value: String
        /// True when the value came from {"file": ...} or {"env": ...}: never log it.
        public var isSecret: Bool

        public init(key: String, value: String, isSecret: Bool = false) {
            self.key = key
            self.value = value
            self.isSecret = isSecret
        }
    }

    /// The "kafka" section: librdkafka properties, passed through unchanged.
    ///
    /// A value may be a string, a number, a boolean, or {"file": PATH} / {"env": NAME} to read a
    /// secret at load time (a relative PATH is relative to the configuration file's directory;
    /// one trailing newline is removed). The daemon sets "group.id" from training.group_id and
    /// commits offsets itself, so "group.id", "enable.auto.commit" and "enable.auto.offset.store"
    /// are refused here.
    public struct KafkaSection: Equatable, Sendable {
        /// Properties in document order.
        public var properties: [KafkaProperty]

        public init(properties: [KafkaProperty]) {
            self.properties = properties
        }

        /// The value of `key`, or nil when the section does not set it.
        public subscript(key: String) -> String? {
            properties.first(where: { $0.key == key })?.value
        }

        /// "bootstrap.servers", which validation guarantees is present.
        public var bootstrapServers: String { self["bootstrap.servers"] ?? "" }

        /// The properties as `key=value` lines for logs, with secret values replaced by "(secret)".
        public var redactedDescription: String {
            properties.map { "\($0.key)=\($0.isSecret ? "(secret)" : $0.value)" }.joined(separator: "\n")
        }
    }

    /// How a training or inference record is laid out.
    ///
    /// Only CSV exists ("type": "csv", the default): the value is a line of numbers separated by
    /// commas. The label is either the message key ("label": "key", the default, as the tutorial
    /// loads it) or one column of the value ("label": {"column": N}, N counted from 0), in which
    /// case the value has `featureCount + 1` fields.
    public struct RecordFormat: Equatable, Sendable {
        public enum Label: Equatable, Sendable {
            /// The message key holds the label as text, "0" or "1".
            case key
            /// Field `index` (from 0) of the CSV value holds the label; the others are features.
            case column(Int)
        }

        /// "label": default "key".
        public var label: Label
        /// "features": number of feature fields per record. Default 18; 1...65536.
        public var featureCount: Int
        /// "max_value_bytes": longer values are bad records. Default 65536; 1...16777216.
        public var maximumValueBytes: Int

        public init(label: Label = .key, featureCount: Int = 18, maximumValueBytes: Int = 65536) {
            self.label = label
            self.featureCount = featureCount
            self.maximumValueBytes = maximumValueBytes
        }
    }

    /// The "training" section.
    public struct TrainingSection: Equatable, Sendable {
        /// "topics": topics to learn from. Required, non-empty, no duplicates, legal Kafka names.
        public var topics: [String]
        /// "group_id": the consumer group whose committed offsets record training progress.
        /// Required.
        public var groupID: String
        /// "format": default CSV with the label in the key and 18 features.
        public var format: RecordFormat
        /// "poll_max_records": the most records handed over as one mini-dataset. Default 1024;
        /// 1...65536.
        public var pollMaxRecords: Int
        /// "poll_timeout_ms": how long one poll waits for the first record. Default 1000 ms;
        /// 1...60000.
        public var pollTimeout: Duration
        /// "batch_size": records per optimizer step. Default 32; 1...65536, and at most
        /// poll_max_records.
        public var batchSize: Int
        /// "epochs_per_poll": passes over each mini-dataset. Default 1; 1...1000.
        public var epochsPerPoll: Int
        /// "shuffle": shuffle each mini-dataset before every epoch. Default true.
        public var isShuffling: Bool

        public init(
            topics: [String],
            groupID: String,
            format: RecordFormat = RecordFormat(),
            pollMaxRecords: Int = 1024,
            pollTimeout: Duration = .milliseconds(1000),
            batchSize: Int = 32,
            epochsPerPoll: Int = 1,
            isShuffling: Bool = true
        ) {
            self.topics = topics
            self.groupID = groupID
            self.format = format
            self.pollMaxRecords = pollMaxRecords
            self.pollTimeout = pollTimeout
            self.batchSize = batchSize
            self.epochsPerPoll = epochsPerPoll
            self.isShuffling = isShuffling
        }
    }

    /// The "model" section. The input count is not here: it is training.format.features.
    public struct ModelSection: Equatable, Sendable {
        /// "type": "mlp" (default) or "logistic".
        public var kind: ModelState.Kind
        /// "hidden": hidden layer sizes, input side first. Default [128, 256, 128] for "mlp";
        /// must be empty (or absent) for "logistic". Each 1...4096, at most 16 layers; "mlp" needs
        /// at least one.
        public var hiddenSizes: [Int]
        /// "dropout": dropout rate after each hidden layer, same count as hidden, each in [0, 1).
        /// Default [0.2, 0.4, 0.4] when hidden is also absent, otherwise 0 for every layer.
        public var dropoutRates: [Float]
        /// "learning_rate": default 0.001; greater than 0 and at most 10.
        public var learningRate: Float
        /// "optimizer": "adam" (default) or "sgd".
        public var optimizer: OptimizerState.Kind
        /// "standardize": standardise inputs with a running mean and variance. Default true.
        public var isStandardizing: Bool
        /// "seed": seeds initial weights, dropout and shuffling. Default 42; 0...2^64-1.
        public var seed: UInt64

        public init(
            kind: ModelState.Kind = .mlp,
            hiddenSizes: [Int] = [128, 256, 128],
            dropoutRates: [Float] = [0.2, 0.4, 0.4],
            learningRate: Float = 0.001,
            optimizer: OptimizerState.Kind = .adam,
            isStandardizing: Bool = true,
            seed: UInt64 = 42
        ) {
            self.kind = kind
            self.hiddenSizes = hiddenSizes
            self.dropoutRates = dropoutRates
            self.learningRate = learningRate
            self.optimizer = optimizer
            self.isStandardizing = isStandardizing
            self.seed = seed
        }
    }

    /// The "checkpoint" section.
    public struct CheckpointSection: Equatable, Sendable {
        /// "directory": where checkpoints live. Required; an absolute path. Loading the
        /// configuration never touches it.
        public var directory: String
        /// "interval_seconds": time between checkpoints. Default 60 s; 0.1...86400, fractions
        /// allowed.
        public var interval: Duration
        /// "keep": checkpoints kept on disk, newest first; the older ones are the fallback when
        /// the newest is damaged. Default 3; 1...100.
        public var keep: Int

        public init(directory: String, interval: Duration = .seconds(60), keep: Int = 3) {
            self.directory = directory
            self.interval = interval
            self.keep = keep
        }
    }

    /// The "metrics" section.
    public struct MetricsSection: Equatable, Sendable {
        /// "topic": where the metrics JSON goes, keyed by instance. Default: none (log and
        /// systemd status only).
        public var topic: String?
        /// "interval_seconds": time between metrics. Default 10 s; 0.1...86400.
        public var interval: Duration
        /// "window": how many recent records the sliding AUC covers. Default 10000; 10...1000000.
        public var aucWindow: Int

        public init(topic: String? = nil, interval: Duration = .seconds(10), aucWindow: Int = 10_000) {
            self.topic = topic
            self.interval = interval
            self.aucWindow = aucWindow
        }
    }

    /// How predictions are delivered.
    public enum Delivery: String, Equatable, Sendable, CaseIterable {
        /// Each input record gets exactly one prediction (DESIGN.md, "Predictions").
        case exactlyOnce = "exactly-once"
        /// Each input record gets at least one prediction; offsets are committed after delivery.
        case atLeastOnce = "at-least-once"
    }

    /// The "inference" section.
    public struct InferenceSection: Equatable, Sendable {
        /// "topics": topics to score. Required, non-empty, legal Kafka names.
        public var topics: [String]
        /// "group_id": the inference consumer group. Required; must differ from training.group_id.
        public var groupID: String
        /// "predictions_topic": where predictions go. Required; not one of the input topics.
        public var predictionsTopic: String
        /// "delivery": "exactly-once" (default) or "at-least-once".
        public var delivery: Delivery

        public init(
            topics: [String],
            groupID: String,
            predictionsTopic: String,
            delivery: Delivery = .exactlyOnce
        ) {
            self.topics = topics
            self.groupID = groupID
            self.predictionsTopic = predictionsTopic
            self.delivery = delivery
        }
    }

    /// The "dead_letter" section.
    public struct DeadLetterSection: Equatable, Sendable {
        /// "topic": where undecodable records are copied. Required; not one of the input topics.
        public var topic: String

        public init(topic: String) {
            self.topic = topic
        }
    }
}

extension DaemonConfiguration {
    /// The effective model settings as one canonical line, defaults filled in, for example
    /// `type=mlp inputs=18 hidden=128,256,128 dropout=0.2,0.4,0.4 optimizer=adam
    /// learning_rate=0.001 standardize=true seed=42` (on one line). Two files that differ only
    /// in spacing, key order or spelled-out defaults give the same line.
    public var canonicalModelDescription: String {
        let optimizerName = model.optimizer == .adam ? "adam" : "sgd"
        return [
            "type=\(model.kind.name)",
            "inputs=\(training.format.featureCount)",
            "hidden=" + model.hiddenSizes.map(String.init).joined(separator: ","),
            "dropout=" + model.dropoutRates.map { String($0) }.joined(separator: ","),
            "optimizer=\(optimizerName)",
            "learning_rate=\(model.learningRate)",
            "standardize=\(model.isStandardizing)",
            "seed=\(model.seed)",
        ].joined(separator: " ")
    }

    /// A stable fingerprint of the model settings for checkpoint metadata: the 64-bit FNV-1a
    /// hash of the UTF-8 bytes of `canonicalModelDescription`, as 16 lowercase hex digits.
    ///
    /// FNV-1a is not cryptographic; it tells configurations apart, nothing more. Stable across
    /// runs, machines and versions as long as `canonicalModelDescription` is.
    public var configurationHash: String {
        let hash = Self.fnv1a64(Array(canonicalModelDescription.utf8))
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// FNV-1a, 64-bit: offset basis 0xcbf29ce484222325, prime 0x100000001b3.
    static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

extension DaemonConfiguration {
    /// The model section as the learning engine takes it, with training.format.features as the
    /// input count. Validation has already applied every rule `ModelConfiguration.validate()`
    /// checks, so the result always passes it.
    public var modelConfiguration: ModelConfiguration {
        ModelConfiguration(
            kind: model.kind,
            inputCount: training.format.featureCount,
            hiddenSizes: model.hiddenSizes,
            dropoutRates: model.dropoutRates,
            optimizer: model.optimizer,
            learningRate: model.learningRate,
            isStandardizing: model.isStandardizing,
            seed: model.seed
        )
    }
}

extension DaemonConfiguration.RecordFormat {
    /// A decoder for training records laid out this way. Validation keeps the values within
    /// `RecordDecoder`'s preconditions (features at least 1, label column one of the fields).
    public var recordDecoder: RecordDecoder {
        let source: RecordDecoder.LabelSource
        switch label {
        case .key: source = .key
        case .column(let index): source = .column(index)
        }
        return RecordDecoder(featureCount: featureCount, label: source, maxValueBytes: maximumValueBytes)
    }
}
