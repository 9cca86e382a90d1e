import Foundation

extension DaemonConfiguration {
    /// Checks one librdkafka property: returns librdkafka's error text, or nil when the
    /// property is accepted. The daemon passes a closure that calls `rd_kafka_conf_set` on a
    /// scratch configuration, so that librdkafka's own verdict is reported with the other
    /// problems under the key path `kafka."key"`.
    public typealias KafkaPropertyChecker = (_ key: String, _ value: String) -> String?

    /// The largest configuration file accepted, in bytes (1 MiB).
    public static let maximumFileBytes = 1 << 20
    /// The largest secret file accepted, in bytes (64 KiB).
    public static let maximumSecretBytes = 64 << 10

    /// Reads, decodes and validates the configuration file at `path`.
    ///
    /// Reads the secret files and environment variables that kafka properties name, and nothing
    /// else: the checkpoint directory is not touched and no connection is made.
    ///
    /// - Parameters:
    ///   - environment: where {"env": NAME} secrets are looked up.
    ///   - hostname: the default instance name; nil means this host's name.
    ///   - kafkaPropertyChecker: librdkafka's verdict on each kafka property, if available.
    /// - Throws: `ConfigurationError` listing every problem found (exit status 78).
    public static func load(
        contentsOf path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        hostname: String? = nil,
        kafkaPropertyChecker: KafkaPropertyChecker? = nil
    ) throws(ConfigurationError) -> DaemonConfiguration {
        let bytes: [UInt8]
        do {
            bytes = try FileContents.read(path, limit: maximumFileBytes)
        } catch {
            throw .unreadable(path: path, reason: error.reason)
        }
        return try decode(
            bytes,
            path: path,
            environment: environment,
            hostname: hostname,
            kafkaPropertyChecker: kafkaPropertyChecker
        )
    }

    /// Decodes and validates configuration JSON already in memory.
    ///
    /// `path` names the document in messages, and relative secret file paths are resolved
    /// against its directory. Other parameters as in `load(contentsOf:)`.
    public static func decode(
        _ bytes: [UInt8],
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        hostname: String? = nil,
        kafkaPropertyChecker: KafkaPropertyChecker? = nil
    ) throws(ConfigurationError) -> DaemonConfiguration {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw .malformed(path: path, line: error.line, column: error.column, reason: error.reason)
        }
        var reading = SectionReading(
            decoder: ConfigurationDecoder(schema: schema),
            configurationDirectory: (path as NSString).deletingLastPathComponent,
            environment: environment
        )
        let configuration = reading.decodeDocument(
            document,
            hostname: hostname ?? systemHostname(),
            checker: kafkaPropertyChecker
        )
        guard let configuration, reading.decoder.problems.isEmpty else {
            throw .invalid(path: path, problems: reading.decoder.problems)
        }
        return configuration
    }

    /// Asks `kafkaPropertyChecker` about every kafka property; returns its objections as
    /// problems at `kafka."key"`. Secret values are masked in the returned text.
    public func validate(kafkaPropertyChecker: KafkaPropertyChecker) -> [ConfigurationProblem] {
        Self.kafkaProblems(kafka.properties, checker: kafkaPropertyChecker)
    }

    static func kafkaProblems(
        _ properties: [KafkaProperty],
        checker: KafkaPropertyChecker
    ) -> [ConfigurationProblem] {
        properties.compactMap { property in
            guard var text = checker(property.key, property.value) else { return nil }
            if property.isSecret, !property.value.isEmpty {
                text = text.replacingOccurrences(of: property.value, with: "(secret)")
            }
            let path = ConfigurationKeyPath("kafka").appending(property.key)
            let detail = "is rejected by librdkafka: \(text)"
            return ConfigurationProblem(keyPath: path.description, detail: detail)
        }
    }

    /// The keys each object of the document may hold, by key path.
    static let schema: [String: [String]] = [
        "": [
            "kafka", "training", "model", "checkpoint", "metrics", "inference", "dead_letter",
            "log_level", "instance",
        ],
        "training": [
            "topics", "group_id", "format", "poll_max_records", "poll_timeout_ms", "batch_size",
            "epochs_per_poll", "shuffle",
        ],
        "training.format": ["type", "label", "features", "max_value_bytes"],
        "training.format.label": ["column"],
        "model": ["type", "hidden", "dropout", "learning_rate", "optimizer", "standardize", "seed"],
        "checkpoint": ["directory", "interval_seconds", "keep"],
        "metrics": ["topic", "interval_seconds", "window"],
        "inference": ["topics", "group_id", "predictions_topic", "delivery"],
        "dead_letter": ["topic"],
    ]

    /// This host's name from gethostname(2), or "localhost" if it cannot be had.
    static func systemHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let name = String(decoding: bytes, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}

/// One pass over a parsed configuration document, section by section. Not thread-safe.
private struct SectionReading {
    typealias Configuration = DaemonConfiguration

    let decoder: ConfigurationDecoder
    let configurationDirectory: String
    let environment: [String: String]

    private static let rdkafkaOwnedKeys: [String: String] = [
        "group.id": "is set by the daemon from training.group_id; remove it here",
        "enable.auto.commit":
            "is managed by the daemon, which commits offsets only after a durable checkpoint; remove it",
        "enable.auto.offset.store":
            "is managed by the daemon, which stores offsets only after a durable checkpoint; remove it",
    ]

    /// Decodes every section, reporting problems to `decoder`; returns nil when the document is
    /// too broken to build a value (the problems say why).
    mutating func decodeDocument(
        _ document: JSONValue,
        hostname: String,
        checker: Configuration.KafkaPropertyChecker?
    ) -> DaemonConfiguration? {
        guard let root = decoder.object(document, at: .root) else { return nil }
        let kafka = decodeKafka(root.object("kafka", isRequired: true, checksKeys: false), checker: checker)
        let training = decodeTraining(root.object("training", isRequired: true))
        let model = decodeModel(root.object("model", isRequired: true))
        let checkpoint = decodeCheckpoint(root.object("checkpoint", isRequired: true))
        let metrics = decodeMetrics(root.object("metrics"))
        let inference = root.object("inference").map { decodeInference($0) }
        let deadLetter = root.object("dead_letter").map { decodeDeadLetter($0) }
        var logLevel = LogLevel.info
        if let name = root.string("log_level") {
            if let level = LogLevel(name: name) {
                logLevel = level
            } else {
                decoder.report(
                    ConfigurationKeyPath("log_level"),
                    "must be one of \"err\", \"warning\", \"notice\", \"info\", \"debug\" (or \"emerg\", "
                        + "\"alert\", \"crit\"), got \"\(name)\""
                )
            }
        }
        let instance = root.string("instance").flatMap { validInstance($0) } ?? hostname

        let configuration = DaemonConfiguration(
            kafka: kafka,
            training: training,
            model: model,
            checkpoint: checkpoint,
            metrics: metrics,
            inference: inference,
            deadLetter: deadLetter,
            logLevel: logLevel,
            instance: instance
        )
        checkAcrossSections(configuration, root: root)
        return configuration
    }

    // MARK: kafka

    private func decodeKafka(
        _ reader: ObjectReader?,
        checker: Configuration.KafkaPropertyChecker?
    ) -> Configuration.KafkaSection {
        guard let reader else { return Configuration.KafkaSection(properties: []) }
        var properties: [Configuration.KafkaProperty] = []
        var seen: Set<String> = []
        for member in reader.members where seen.insert(member.key).inserted {
            let path = reader.path.appending(member.key)
            if member.key.isEmpty {
                decoder.report(path, "is not a librdkafka property name")
                continue
            }
            if let reason = Self.rdkafkaOwnedKeys[member.key] {
                decoder.report(path, reason)
                continue
            }
            if let property = kafkaProperty(member, at: path) { properties.append(property) }
        }
        let bootstrapPath = reader.path.appending("bootstrap.servers")
        if !seen.contains("bootstrap.servers") {
            decoder.report(bootstrapPath, "is required")
        } else if let servers = properties.first(where: { $0.key == "bootstrap.servers" }),
            servers.value.trimmingCharacters(in: .whitespaces).isEmpty
        {
            decoder.report(bootstrapPath, "must not be empty")
        }
        let section = Configuration.KafkaSection(properties: properties)
        if let checker {
            for problem in Configuration.kafkaProblems(properties, checker: checker) {
                decoder.report(problem)
            }
        }
        return section
    }

    private func kafkaProperty(
        _ member: JSONMember,
        at path: ConfigurationKeyPath
    ) -> Configuration.KafkaProperty? {
        let expected = "must be a string, a number, a boolean, {\"file\": PATH} or {\"env\": NAME}"
        switch member.value {
        case .string(let text):
            if text.utf8.contains(0) {
                decoder.report(path, "must not contain a NUL character")
                return nil
            }
            return .init(key: member.key, value: text)
        case .number(let number):
            return .init(key: member.key, value: number.literal)
        case .bool(let flag):
            return .init(key: member.key, value: flag ? "true" : "false")
        case .object(let members):
            guard members.count == 1, let source = members.first else {
                decoder.report(path, "\(expected), got an object with \(members.count) keys")
                return nil
            }
            guard source.key == "file" || source.key == "env" else {
                let nearest = ConfigurationDecoder.nearest(to: source.key, among: ["file", "env"])
                let hint =
                    nearest.map { "; did you mean \(path.appending($0))?" }
                    ?? "; use \"file\" or \"env\""
                decoder.report(path.appending(source.key), "is not a known key\(hint)")
                return nil
            }
            let sourcePath = path.appending(source.key)
            guard let name = ObjectReader.string(source.value, at: sourcePath, decoder: decoder) else {
                return nil
            }
            guard
                let secret = source.key == "file"
                    ? secretFromFile(name, at: path) : secretFromEnvironment(name, at: path)
            else { return nil }
            return .init(key: member.key, value: secret, isSecret: true)
        case .null, .array:
            decoder.report(path, "\(expected), got \(member.value.typeName)")
            return nil
        }
    }

    private func secretFromFile(_ name: String, at path: ConfigurationKeyPath) -> String? {
        let file =
            name.hasPrefix("/")
            ? name : (configurationDirectory as NSString).appendingPathComponent(name)
        let fail = { (reason: String) in
            decoder.report(path, "cannot be read from secret file '\(file)': \(reason)")
        }
        var bytes: [UInt8]
        do {
            bytes = try FileContents.read(file, limit: Configuration.maximumSecretBytes)
        } catch {
            fail(error.reason)
            return nil
        }
        // Editors and `echo` end files with a newline that is not part of the secret.
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else {
            fail("the file is empty")
            return nil
        }
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
            fail("the file is not UTF-8 text without NUL bytes")
            return nil
        }
        return text
    }

    private func secretFromEnvironment(_ name: String, at path: ConfigurationKeyPath) -> String? {
        guard let value = environment[name] else {
            decoder.report(path, "cannot be read from environment variable \(name): it is not set")
            return nil
        }
        guard !value.isEmpty else {
            decoder.report(path, "cannot be read from environment variable \(name): it is empty")
            return nil
        }
        return value
    }

    // MARK: training

    private func decodeTraining(_ reader: ObjectReader?) -> Configuration.TrainingSection {
        var section = Configuration.TrainingSection(topics: [], groupID: "")
        guard let reader else { return section }
        section.topics = topicList(reader, "topics") ?? []
        section.groupID = reader.string("group_id", isRequired: true) ?? ""
        if let format = reader.object("format") { section.format = decodeFormat(format) }
        section.pollMaxRecords = reader.integer("poll_max_records", in: 1...65536) ?? section.pollMaxRecords
        if let milliseconds = reader.integer("poll_timeout_ms", in: 1...60000) {
            section.pollTimeout = .milliseconds(milliseconds)
        }
        section.batchSize = reader.integer("batch_size", in: 1...65536) ?? section.batchSize
        section.epochsPerPoll = reader.integer("epochs_per_poll", in: 1...1000) ?? section.epochsPerPoll
        section.isShuffling = reader.bool("shuffle") ?? section.isShuffling
        return section
    }

    private func decodeFormat(_ reader: ObjectReader) -> Configuration.RecordFormat {
        var format = Configuration.RecordFormat()
        _ = reader.choice("type", among: ["csv"])
        format.featureCount = reader.integer("features", in: 1...65536) ?? format.featureCount
        format.maximumValueBytes =
            reader.integer("max_value_bytes", in: 1...16_777_216) ?? format.maximumValueBytes
        guard let label = reader.value("label") else { return format }
        let path = reader.path.appending("label")
        switch label {
        case .string("key"):
            format.label = .key
        case .object:
            guard let column = decoder.object(label, at: path) else { break }
            guard let index = column.integer("column", in: 0...format.featureCount) else {
                if !column.has("column") { decoder.report(path.appending("column"), "is required") }
                break
            }
            format.label = .column(index)
        case .string(let text):
            decoder.report(path, "must be \"key\" or {\"column\": N}, got \"\(text)\"")
        default:
            decoder.report(path, "must be \"key\" or {\"column\": N}, got \(label.typeName)")
        }
        return format
    }

    // MARK: model

    private func decodeModel(_ reader: ObjectReader?) -> Configuration.ModelSection {
        var section = Configuration.ModelSection()
        guard let reader else { return section }
        if reader.choice("type", among: ["mlp", "logistic"]) == "logistic" { section.kind = .logistic }
        let defaultHidden = section.kind == .mlp ? section.hiddenSizes : []
        let hidden = reader.array("hidden", of: "integers") { value, path in
            ObjectReader.integer(value, at: path, in: 1...4096, decoder: decoder)
        }
        let dropout = reader.array("dropout", of: "numbers") { value, path in
            ObjectReader.number(value, at: path, in: Self.dropoutRange, decoder: decoder).map { Float($0) }
        }
        section.hiddenSizes = hidden ?? defaultHidden
        let hiddenPath = reader.path.appending("hidden")
        if let hidden {
            if section.kind == .logistic, !hidden.isEmpty {
                decoder.report(hiddenPath, "must be empty for type \"logistic\", got \(hidden.count) layers")
            } else if section.kind == .mlp, hidden.isEmpty {
                decoder.report(hiddenPath, "must list at least one layer for type \"mlp\"")
            } else if hidden.count > 16 {
                decoder.report(hiddenPath, "must have at most 16 layers, got \(hidden.count)")
            }
        }
        switch (dropout, reader.has("hidden")) {
        case (let rates?, _):
            section.dropoutRates = rates
            // Compared only when hidden itself was usable, so one mistake gives one message.
            if hidden != nil || !reader.has("hidden"), rates.count != section.hiddenSizes.count {
                let layers = section.hiddenSizes.count
                decoder.report(
                    reader.path.appending("dropout"),
                    "must have one rate per hidden layer (\(layers)), got \(rates.count)"
                )
            }
        case (nil, false):
            section.dropoutRates = section.kind == .mlp ? section.dropoutRates : []
        case (nil, true):
            section.dropoutRates = Array(repeating: 0, count: section.hiddenSizes.count)
        }
        if let rate = reader.number("learning_rate", in: Self.learningRateRange) {
            section.learningRate = Float(rate)
            if !(section.learningRate > 0) {
                let path = reader.path.appending("learning_rate")
                decoder.report(path, "is too small for a 32-bit float, got \(rate)")
            }
        }
        if reader.choice("optimizer", among: ["adam", "sgd"]) == "sgd" { section.optimizer = .sgd }
        section.isStandardizing = reader.bool("standardize") ?? section.isStandardizing
        section.seed = reader.unsignedInteger("seed") ?? section.seed
        return section
    }

    private static let dropoutRange = NumberRange(
        lowerBound: 0,
        includesLowerBound: true,
        upperBound: 1,
        includesUpperBound: false
    )
    private static let learningRateRange = NumberRange(
        lowerBound: 0,
        includesLowerBound: false,
        upperBound: 10,
        includesUpperBound: true
    )
    private static let intervalRange = NumberRange.closed(0.1, 86400)

    // MARK: checkpoint, metrics, inference, dead letter

    private func decodeCheckpoint(_ reader: ObjectReader?) -> Configuration.CheckpointSection {
        var section = Configuration.CheckpointSection(directory: "")
        guard let reader else { return section }
        if let directory = reader.string("directory", isRequired: true) {
            let path = reader.path.appending("directory")
            if !directory.hasPrefix("/") {
                decoder.report(path, "must be an absolute path, got \"\(directory)\"")
            } else if directory.utf8.contains(0) {
                decoder.report(path, "must not contain a NUL character")
            }
            section.directory = directory
        }
        section.interval = interval(reader) ?? section.interval
        section.keep = reader.integer("keep", in: 1...100) ?? section.keep
        return section
    }

    private func decodeMetrics(_ reader: ObjectReader?) -> Configuration.MetricsSection {
        var section = Configuration.MetricsSection()
        guard let reader else { return section }
        section.topic = topic(reader, "topic", isRequired: false)
        section.interval = interval(reader) ?? section.interval
        section.aucWindow = reader.integer("window", in: 10...1_000_000) ?? section.aucWindow
        return section
    }

    private func decodeInference(_ reader: ObjectReader) -> Configuration.InferenceSection {
        var section = Configuration.InferenceSection(
            topics: topicList(reader, "topics") ?? [],
            groupID: reader.string("group_id", isRequired: true) ?? "",
            predictionsTopic: topic(reader, "predictions_topic", isRequired: true) ?? ""
        )
        let delivery = reader.choice("delivery", among: Configuration.Delivery.allCases.map(\.rawValue))
        section.delivery = delivery.flatMap(Configuration.Delivery.init(rawValue:)) ?? section.delivery
        return section
    }

    private func decodeDeadLetter(_ reader: ObjectReader) -> Configuration.DeadLetterSection {
        Configuration.DeadLetterSection(topic: topic(reader, "topic", isRequired: true) ?? "")
    }

    private func interval(_ reader: ObjectReader) -> Duration? {
        reader.number("interval_seconds", in: Self.intervalRange).map { .seconds($0) }
    }

    private func validInstance(_ name: String) -> String? {
        let path = ConfigurationKeyPath("instance")
        if name.utf8.count > 255 {
            decoder.report(path, "must be at most 255 bytes long, got \(name.utf8.count)")
            return nil
        }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            decoder.report(path, "must not contain control characters")
            return nil
        }
        return name
    }

    // MARK: topics

    /// A required, non-empty list of distinct, legal topic names.
    private func topicList(_ reader: ObjectReader, _ key: String) -> [String]? {
        let path = reader.path.appending(key)
        guard let topics = reader.array(key, of: "topic names", isRequired: true, element: topicName) else {
            return nil
        }
        if topics.isEmpty {
            decoder.report(path, "must list at least one topic")
            return nil
        }
        var seen: Set<String> = []
        for name in topics where !seen.insert(name).inserted {
            decoder.report(path, "lists \"\(name)\" more than once")
            return nil
        }
        return topics
    }

    private func topic(_ reader: ObjectReader, _ key: String, isRequired: Bool) -> String? {
        reader.value(key, isRequired: isRequired).flatMap { topicName($0, reader.path.appending(key)) }
    }

    /// Kafka's rule: 1 to 249 of ASCII letters, digits, '.', '_' and '-', and not "." or "..".
    private func topicName(_ value: JSONValue, _ path: ConfigurationKeyPath) -> String? {
        guard let name = ObjectReader.string(value, at: path, decoder: decoder) else { return nil }
        let isLegal =
            name.utf8.count <= 249 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                        || scalar == "." || scalar == "_" || scalar == "-")
            }
        guard isLegal else {
            decoder.report(
                path,
                "must be a Kafka topic name (at most 249 of letters, digits, '.', '_', '-'), got \"\(name)\""
            )
            return nil
        }
        return name
    }

    // MARK: across sections

    /// Rules that tie two sections together; reported only when both sides decoded cleanly.
    private func checkAcrossSections(_ configuration: DaemonConfiguration, root: ObjectReader) {
        let training = configuration.training
        let trainingPath = ConfigurationKeyPath("training")
        if training.batchSize > training.pollMaxRecords {
            let limit = "training.poll_max_records (\(training.pollMaxRecords))"
            decoder.report(
                trainingPath.appending("batch_size"),
                "must not exceed \(limit), got \(training.batchSize)"
            )
        }
        var inputTopics = Set(training.topics)
        if let inference = configuration.inference {
            inputTopics.formUnion(inference.topics)
            let inferencePath = ConfigurationKeyPath("inference")
            if !inference.groupID.isEmpty, inference.groupID == training.groupID {
                decoder.report(
                    inferencePath.appending("group_id"),
                    "must differ from training.group_id, both are \"\(inference.groupID)\""
                )
            }
            if inputTopics.contains(inference.predictionsTopic) {
                decoder.report(
                    inferencePath.appending("predictions_topic"),
                    "\(Self.notAnInputTopic), got \"\(inference.predictionsTopic)\""
                )
            }
        }
        let outputs: [(ConfigurationKeyPath, String?)] = [
            (ConfigurationKeyPath("metrics", "topic"), configuration.metrics.topic),
            (ConfigurationKeyPath("dead_letter", "topic"), configuration.deadLetter?.topic),
        ]
        for (path, topic) in outputs {
            guard let topic, inputTopics.contains(topic) else { continue }
            decoder.report(path, "\(Self.notAnInputTopic), got \"\(topic)\"")
        }
    }

    private static let notAnInputTopic = "must not be one of the training or inference topics"
}
