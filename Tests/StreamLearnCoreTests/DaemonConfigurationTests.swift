import Foundation
import Testing

@testable import StreamLearnCore

/// Decodes `json` with a fixed host name and environment; the test fails on any problem.
private func load(_ json: String, environment: [String: String] = [:]) throws -> DaemonConfiguration {
    try DaemonConfiguration.decode(
        Array(json.utf8),
        path: "/etc/streamlearn/test.json",
        environment: environment,
        hostname: "testhost"
    )
}

/// The problems `json` has, as the operator reads them; empty when it loads.
private func problems(
    _ json: String,
    environment: [String: String] = [:],
    path: String = "/etc/streamlearn/test.json",
    checker: DaemonConfiguration.KafkaPropertyChecker? = nil
) -> [String] {
    do {
        _ = try DaemonConfiguration.decode(
            Array(json.utf8),
            path: path,
            environment: environment,
            hostname: "testhost",
            kafkaPropertyChecker: checker
        )
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

/// A valid configuration with only the required keys, plus `extra` spliced into the top level.
private func minimal(_ extra: String = "") -> String {
    """
    {
      "kafka": { "bootstrap.servers": "127.0.0.1:9092" },
      "training": { "topics": ["susy-train"], "group_id": "streamlearn" },
      "model": {},
      "checkpoint": { "directory": "/var/lib/streamlearn" }\(extra.isEmpty ? "" : ",\n  " + extra)
    }
    """
}

/// The example of DESIGN.md, "Daemon configuration (JSON)", verbatim.
private let designExample = """
    {
      "kafka": { "bootstrap.servers": "127.0.0.1:9092" },
      "training": {
        "topics": ["susy-train"], "group_id": "streamlearn",
        "format": { "type": "csv", "label": "key", "features": 18 },
        "poll_max_records": 1024, "poll_timeout_ms": 1000,
        "batch_size": 32, "epochs_per_poll": 1, "shuffle": true
      },
      "model": { "type": "mlp", "hidden": [128, 256, 128], "dropout": [0.2, 0.4, 0.4],
                 "learning_rate": 0.001, "standardize": true, "seed": 42 },
      "checkpoint": { "directory": "/var/lib/streamlearn", "interval_seconds": 60, "keep": 3 },
      "metrics": { "topic": "streamlearn.metrics", "interval_seconds": 10 },
      "inference": { "topics": ["susy-test"], "group_id": "streamlearn-inference",
                     "predictions_topic": "streamlearn.predictions",
                     "delivery": "exactly-once" },
      "dead_letter": { "topic": "streamlearn.dead-letter" },
      "log_level": "info"
    }
    """

/// The repository's config/ directory, found from this source file's location.
private let configDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("config")

@Suite("Daemon configuration")
struct DaemonConfigurationTests {
    @Test("the DESIGN.md example loads with the values it spells out")
    func designExampleLoads() throws {
        let configuration = try load(designExample)

        #expect(configuration.kafka.properties == [.init(key: "bootstrap.servers", value: "127.0.0.1:9092")])
        #expect(configuration.kafka.bootstrapServers == "127.0.0.1:9092")
        #expect(configuration.training.topics == ["susy-train"])
        #expect(configuration.training.groupID == "streamlearn")
        #expect(configuration.training.format == .init(label: .key, featureCount: 18, maximumValueBytes: 65536))
        #expect(configuration.training.pollMaxRecords == 1024)
        #expect(configuration.training.pollTimeout == .milliseconds(1000))
        #expect(configuration.training.batchSize == 32)
        #expect(configuration.training.epochsPerPoll == 1)
        #expect(configuration.training.isShuffling)
        #expect(configuration.model.kind == .mlp)
        #expect(configuration.model.hiddenSizes == [128, 256, 128])
        #expect(configuration.model.dropoutRates == [0.2, 0.4, 0.4])
        #expect(configuration.model.learningRate == 0.001)
        #expect(configuration.model.optimizer == .adam)
        #expect(configuration.model.isStandardizing)
        #expect(configuration.model.seed == 42)
        #expect(configuration.checkpoint == .init(directory: "/var/lib/streamlearn", interval: .seconds(60), keep: 3))
        #expect(configuration.metrics.topic == "streamlearn.metrics")
        #expect(configuration.metrics.interval == .seconds(10))
        #expect(
            configuration.inference
                == .init(
                    topics: ["susy-test"],
                    groupID: "streamlearn-inference",
                    predictionsTopic: "streamlearn.predictions",
                    delivery: .exactlyOnce
                )
        )
        #expect(configuration.deadLetter == .init(topic: "streamlearn.dead-letter"))
        #expect(configuration.logLevel == .info)
        #expect(configuration.instance == "testhost")
    }

    @Test("omitted keys take their documented defaults")
    func defaults() throws {
        let configuration = try load(minimal())

        #expect(configuration.training.format == .init())
        #expect(configuration.training.pollMaxRecords == 1024)
        #expect(configuration.training.pollTimeout == .seconds(1))
        #expect(configuration.training.batchSize == 32)
        #expect(configuration.training.epochsPerPoll == 1)
        #expect(configuration.training.isShuffling)
        #expect(configuration.model == .init())
        #expect(configuration.model.hiddenSizes == [128, 256, 128])
        #expect(configuration.model.dropoutRates == [0.2, 0.4, 0.4])
        #expect(configuration.checkpoint.interval == .seconds(60))
        #expect(configuration.checkpoint.keep == 3)
        #expect(configuration.metrics == .init(topic: nil, interval: .seconds(10), aucWindow: 10_000))
        #expect(configuration.inference == nil)
        #expect(configuration.deadLetter == nil)
        #expect(configuration.logLevel == .info)
        #expect(configuration.instance == "testhost")
    }

    @Test("the instance defaults to this host's name when none is given")
    func instanceDefaultsToHostname() throws {
        let configuration = try DaemonConfiguration.decode(Array(minimal().utf8), path: "x.json", environment: [:])
        #expect(configuration.instance == DaemonConfiguration.systemHostname())
        #expect(!configuration.instance.isEmpty)
    }

    @Test("a logistic model has no hidden layers and no dropout by default")
    func logisticDefaults() throws {
        let configuration = try load(
            minimal().replacingOccurrences(
                of: "\"model\": {}",
                with: "\"model\": {\"type\": \"logistic\", \"optimizer\": \"sgd\", \"seed\": 7}"
            )
        )
        #expect(configuration.model.kind == .logistic)
        #expect(configuration.model.hiddenSizes == [])
        #expect(configuration.model.dropoutRates == [])
        #expect(configuration.model.optimizer == .sgd)
        #expect(configuration.model.seed == 7)
    }

    @Test("three mistakes are all reported at once, each with its key path")
    func threeMistakes() {
        let json = """
            {
              "kafka": { "bootstrap.servers": "127.0.0.1:9092" },
              "training": { "topics": ["susy-train"], "group_id": "streamlearn", "batch_size": 0 },
              "model": { "type": "cnn" },
              "checkpoint": { "directory": "/var/lib/streamlearn", "keep": "three" }
            }
            """
        #expect(
            problems(json) == [
                "training.batch_size must be between 1 and 65536, got 0",
                "model.type must be one of \"mlp\", \"logistic\", got \"cnn\"",
                "checkpoint.keep must be an integer, got string",
            ]
        )
    }

    @Test("the error names the file, counts the problems and puts each on its own line")
    func errorDescription() throws {
        let json = minimal("\"log_level\": \"loud\", \"instanse\": \"a\"")
        let error = #expect(throws: ConfigurationError.self) {
            _ = try DaemonConfiguration.decode(Array(json.utf8), path: "/etc/streamlearn/x.json", hostname: "h")
        }
        #expect(error?.exitCode == .configError)
        #expect(
            error?.description == """
                Invalid configuration file '/etc/streamlearn/x.json' (2 problems):
                  instanse is not a known key; did you mean instance?
                  log_level must be one of "err", "warning", "notice", "info", "debug" (or "emerg", "alert", \
                "crit"), got "loud"
                """
        )
    }

    @Test("an unknown key is rejected with the nearest valid name")
    func unknownKeySuggestion() {
        let json = """
            {
              "kafka": { "bootstrap.servers": "b:9092" },
              "training": { "topics": ["t"], "group_id": "g", "batchsize": 64, "learning_rate": 0.01 },
              "model": { "dropuot": [0.1, 0.1, 0.1] },
              "checkpoint": { "directory": "/d", "frobnicate": 1 }
            }
            """
        #expect(
            problems(json) == [
                "training.batchsize is not a known key; did you mean training.batch_size?",
                "training.learning_rate is not a known key here; did you mean model.learning_rate?",
                "model.dropuot is not a known key; did you mean model.dropout?",
                "checkpoint.frobnicate is not a known key; known keys: directory, interval_seconds, keep",
            ]
        )
    }

    @Test("a value of the wrong JSON type is named with the type found")
    func wrongTypes() {
        let json = """
            {
              "kafka": { "bootstrap.servers": "b:9092", "linger.ms": [5] },
              "training": { "topics": "t", "group_id": 7, "shuffle": 1, "poll_max_records": true,
                            "epochs_per_poll": 1.5 },
              "model": { "hidden": "128,256", "learning_rate": "fast", "seed": -1 },
              "checkpoint": { "directory": "/d", "interval_seconds": null },
              "metrics": []
            }
            """
        #expect(
            problems(json) == [
                "kafka.\"linger.ms\" must be a string, a number, a boolean, {\"file\": PATH} or "
                    + "{\"env\": NAME}, got array",
                "training.topics must be an array of topic names, got string",
                "training.group_id must be a string, got number",
                "training.poll_max_records must be an integer, got boolean",
                "training.epochs_per_poll must be an integer, got 1.5",
                "training.shuffle must be a boolean (true or false), got number",
                "model.hidden must be an array of integers, got string",
                "model.learning_rate must be a number, got string",
                "model.seed must be an integer between 0 and 18446744073709551615, got -1",
                "checkpoint.interval_seconds must be a number, got null",
                "metrics must be an object, got array",
            ]
        )
    }

    @Test("missing required keys and sections are each named")
    func requiredKeys() {
        let json = """
            { "kafka": {}, "training": { "topics": [] }, "checkpoint": { "directory": "var/lib/x" } }
            """
        #expect(
            problems(json) == [
                "kafka.\"bootstrap.servers\" is required",
                "training.topics must list at least one topic",
                "training.group_id is required",
                "model is required",
                "checkpoint.directory must be an absolute path, got \"var/lib/x\"",
            ]
        )
    }

    @Test("dropout must give one rate per hidden layer, each in [0, 1)")
    func dropoutMatchesHidden() {
        let mismatch = minimal().replacingOccurrences(
            of: "\"model\": {}",
            with: "\"model\": {\"hidden\": [64, 32], \"dropout\": [0.1, 0.2, 0.3]}"
        )
        #expect(problems(mismatch) == ["model.dropout must have one rate per hidden layer (2), got 3"])

        let againstDefault = minimal().replacingOccurrences(
            of: "\"model\": {}",
            with: "\"model\": {\"dropout\": [0.5]}"
        )
        #expect(problems(againstDefault) == ["model.dropout must have one rate per hidden layer (3), got 1"])

        let outOfRange = minimal().replacingOccurrences(
            of: "\"model\": {}",
            with: "\"model\": {\"hidden\": [8], \"dropout\": [1]}"
        )
        #expect(problems(outOfRange) == ["model.dropout[0] must be at least 0 and less than 1, got 1"])
    }

    @Test("hidden layers given without dropout train without dropout")
    func hiddenWithoutDropout() throws {
        let configuration = try load(
            minimal().replacingOccurrences(
                of: "\"model\": {}",
                with: "\"model\": {\"hidden\": [64, 32]}"
            )
        )
        #expect(configuration.model.hiddenSizes == [64, 32])
        #expect(configuration.model.dropoutRates == [0, 0])
    }

    @Test("the layer list must suit the model type")
    func hiddenSuitsType() {
        let logistic = minimal().replacingOccurrences(
            of: "\"model\": {}",
            with: "\"model\": {\"type\": \"logistic\", \"hidden\": [4]}"
        )
        #expect(problems(logistic) == ["model.hidden must be empty for type \"logistic\", got 1 layers"])

        let emptyMLP = minimal().replacingOccurrences(of: "\"model\": {}", with: "\"model\": {\"hidden\": []}")
        #expect(problems(emptyMLP) == ["model.hidden must list at least one layer for type \"mlp\""])

        let badElement = minimal().replacingOccurrences(
            of: "\"model\": {}",
            with: "\"model\": {\"hidden\": [64, \"wide\", 0]}"
        )
        #expect(
            problems(badElement) == [
                "model.hidden[1] must be an integer, got string",
                "model.hidden[2] must be between 1 and 4096, got 0",
            ]
        )
    }

    @Test("the label is the key or a column of the value")
    func labelForms() throws {
        let column = try load(
            minimal().replacingOccurrences(
                of: "\"group_id\": \"streamlearn\"",
                with: "\"group_id\": \"streamlearn\", \"format\": {\"label\": {\"column\": 0}, \"features\": 28}"
            )
        )
        #expect(column.training.format.label == .column(0))
        #expect(column.training.format.featureCount == 28)

        let beyond = minimal().replacingOccurrences(
            of: "\"group_id\": \"streamlearn\"",
            with: "\"group_id\": \"streamlearn\", \"format\": {\"label\": {\"column\": 19}}"
        )
        #expect(problems(beyond) == ["training.format.label.column must be between 0 and 18, got 19"])

        let prose = minimal().replacingOccurrences(
            of: "\"group_id\": \"streamlearn\"",
            with: "\"group_id\": \"streamlearn\", \"format\": {\"type\": \"tsv\", \"label\": \"value\"}"
        )
        #expect(
            problems(prose) == [
                "training.format.type must be one of \"csv\", got \"tsv\"",
                "training.format.label must be \"key\" or {\"column\": N}, got \"value\"",
            ]
        )
    }

    @Test("a secret is read from a file, trailing newline removed, relative to the config file")
    func secretFromFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "s3cret pass\n".write(toFile: directory + "/kafka-password", atomically: true, encoding: .utf8)
        let json = minimal().replacingOccurrences(
            of: "\"bootstrap.servers\": \"127.0.0.1:9092\"",
            with: """
                "bootstrap.servers": "127.0.0.1:9092", "sasl.password": {"file": "kafka-password"},
                "sasl.username": {"env": "KAFKA_USER"}, "linger.ms": 5.5, "enable.idempotence": true
                """
        )
        let configuration = try DaemonConfiguration.decode(
            Array(json.utf8),
            path: directory + "/streamlearn.json",
            environment: ["KAFKA_USER": "learner"],
            hostname: "h"
        )

        #expect(configuration.kafka["sasl.password"] == "s3cret pass")
        #expect(configuration.kafka["sasl.username"] == "learner")
        #expect(configuration.kafka["linger.ms"] == "5.5")
        #expect(configuration.kafka["enable.idempotence"] == "true")
        #expect(configuration.kafka.properties.filter(\.isSecret).map(\.key) == ["sasl.password", "sasl.username"])
        #expect(!configuration.kafka.redactedDescription.contains("s3cret"))
        #expect(configuration.kafka.redactedDescription.contains("sasl.password=(secret)"))
    }

    @Test("a missing secret file or environment variable is named with its key")
    func missingSecrets() {
        let json = minimal().replacingOccurrences(
            of: "\"bootstrap.servers\": \"127.0.0.1:9092\"",
            with: """
                "bootstrap.servers": "127.0.0.1:9092", "sasl.password": {"file": "/nonexistent/kafka-password"},
                "sasl.username": {"env": "KAFKA_USER"}, "ssl.key.password": {"env": "EMPTY"},
                "ssl.key.pem": {"flie": "key.pem"}
                """
        )
        #expect(
            problems(json, environment: ["EMPTY": ""]) == [
                "kafka.\"sasl.password\" cannot be read from secret file '/nonexistent/kafka-password': "
                    + "No such file or directory",
                "kafka.\"sasl.username\" cannot be read from environment variable KAFKA_USER: it is not set",
                "kafka.\"ssl.key.password\" cannot be read from environment variable EMPTY: it is empty",
                "kafka.\"ssl.key.pem\".flie is not a known key; did you mean kafka.\"ssl.key.pem\".file?",
            ]
        )
    }

    @Test("librdkafka's objections are reported with the other problems, secrets masked")
    func kafkaPropertyChecker() {
        let json = minimal("\"log_level\": \"chatty\"").replacingOccurrences(
            of: "\"bootstrap.servers\": \"127.0.0.1:9092\"",
            with: "\"bootstrap.servers\": \"127.0.0.1:9092\", \"fetch.wait.max.ms\": \"soon\", "
                + "\"sasl.password\": {\"env\": \"PASSWORD\"}"
        )
        let checker: DaemonConfiguration.KafkaPropertyChecker = { key, value in
            switch key {
            case "fetch.wait.max.ms": "Invalid value \"\(value)\" for configuration property \"\(key)\""
            case "sasl.password": "Invalid value \"\(value)\" for configuration property \"\(key)\""
            default: nil
            }
        }
        #expect(
            problems(json, environment: ["PASSWORD": "hunter2"], checker: checker) == [
                "kafka.\"fetch.wait.max.ms\" is rejected by librdkafka: Invalid value \"soon\" for configuration "
                    + "property \"fetch.wait.max.ms\"",
                "kafka.\"sasl.password\" is rejected by librdkafka: Invalid value \"(secret)\" for configuration "
                    + "property \"sasl.password\"",
                "log_level must be one of \"err\", \"warning\", \"notice\", \"info\", \"debug\" (or \"emerg\", "
                    + "\"alert\", \"crit\"), got \"chatty\"",
            ]
        )
    }

    @Test("validate(kafkaPropertyChecker:) checks a loaded configuration's properties")
    func validateHook() throws {
        let configuration = try load(minimal())
        let none = configuration.validate { _, _ in nil }
        #expect(none.isEmpty)
        let all = configuration.validate { key, _ in "No such configuration property: \"\(key)\"" }
        #expect(
            all.map(\.description) == [
                "kafka.\"bootstrap.servers\" is rejected by librdkafka: No such configuration property: "
                    + "\"bootstrap.servers\""
            ]
        )
    }

    @Test("properties the daemon manages itself are refused")
    func daemonOwnedKafkaProperties() {
        let json = minimal().replacingOccurrences(
            of: "\"bootstrap.servers\": \"127.0.0.1:9092\"",
            with: "\"bootstrap.servers\": \"127.0.0.1:9092\", \"group.id\": \"x\", \"enable.auto.commit\": true"
        )
        #expect(
            problems(json) == [
                "kafka.\"group.id\" is set by the daemon from training.group_id; remove it here",
                "kafka.\"enable.auto.commit\" is managed by the daemon, which commits offsets only after a durable "
                    + "checkpoint; remove it",
            ]
        )
    }

    @Test("rules across sections are checked")
    func crossSectionRules() {
        let json = """
            {
              "kafka": { "bootstrap.servers": "b:9092" },
              "training": { "topics": ["in"], "group_id": "g", "poll_max_records": 16, "batch_size": 32 },
              "model": {},
              "checkpoint": { "directory": "/d" },
              "metrics": { "topic": "scores" },
              "inference": { "topics": ["scores", "bad topic"], "group_id": "g", "predictions_topic": "in",
                             "delivery": "twice" },
              "dead_letter": { "topic": "in" }
            }
            """
        #expect(
            problems(json) == [
                "inference.topics[1] must be a Kafka topic name (at most 249 of letters, digits, '.', '_', '-'), "
                    + "got \"bad topic\"",
                "inference.delivery must be one of \"exactly-once\", \"at-least-once\", got \"twice\"",
                "training.batch_size must not exceed training.poll_max_records (16), got 32",
                "inference.group_id must differ from training.group_id, both are \"g\"",
                "inference.predictions_topic must not be one of the training or inference topics, got \"in\"",
                "dead_letter.topic must not be one of the training or inference topics, got \"in\"",
            ]
        )
    }

    @Test("a topic list must not repeat a topic")
    func repeatedTopic() {
        let json = minimal().replacingOccurrences(of: "[\"susy-train\"]", with: "[\"susy-train\", \"susy-train\"]")
        #expect(problems(json) == ["training.topics lists \"susy-train\" more than once"])
    }

    @Test("a key given twice is an error, not a silent override")
    func duplicateKeys() {
        let json = minimal("\"log_level\": \"info\", \"log_level\": \"debug\"")
        #expect(problems(json) == ["log_level appears more than once"])
    }

    @Test("invalid JSON is reported with line and column")
    func syntaxError() {
        let json = "{\n  \"kafka\": { \"bootstrap.servers\": \"b\", },\n}"
        let error = #expect(throws: ConfigurationError.self) {
            _ = try DaemonConfiguration.decode(Array(json.utf8), path: "/x.json", hostname: "h")
        }
        #expect(
            error?.description == "Failed to parse configuration file '/x.json': line 2, column 40: "
                + "unexpected '}', expected a key in double quotes"
        )
    }

    @Test("an unreadable file is named with the system's reason")
    func unreadableFile() {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try DaemonConfiguration.load(contentsOf: "/nonexistent/streamlearn.json")
        }
        #expect(
            error?.description
                == "Failed to read configuration file '/nonexistent/streamlearn.json': No such file or directory"
        )
        #expect(error?.exitCode == .configError)
    }

    @Test("the configuration hash depends on the effective model settings only")
    func configurationHash() throws {
        let implicit = try load(minimal())
        let explicit = try load(designExample)
        #expect(implicit.configurationHash == explicit.configurationHash)
        #expect(implicit.configurationHash.count == 16)
        #expect(
            implicit.canonicalModelDescription == "type=mlp inputs=18 hidden=128,256,128 dropout=0.2,0.4,0.4 "
                + "optimizer=adam learning_rate=0.001 standardize=true seed=42"
        )
        // A golden value: checkpoints written by earlier versions carry it, so it must not drift.
        #expect(implicit.configurationHash == "0569e5c4db3b6596")

        let otherRate = try load(
            minimal().replacingOccurrences(
                of: "\"model\": {}",
                with: "\"model\": {\"learning_rate\": 0.01}"
            )
        )
        #expect(otherRate.configurationHash != implicit.configurationHash)
    }

    @Test("the model section maps onto the learning engine's configuration")
    func modelConfigurationMapping() throws {
        let tutorial = try load(designExample)
        #expect(tutorial.modelConfiguration == .tutorial)

        let json = minimal().replacingOccurrences(
            of: "\"model\": {}",
            with: "\"model\": {\"type\": \"logistic\", \"optimizer\": \"sgd\", \"learning_rate\": 0.05, "
                + "\"standardize\": false, \"seed\": 9}"
        ).replacingOccurrences(
            of: "\"group_id\": \"streamlearn\"",
            with: "\"group_id\": \"streamlearn\", \"format\": {\"features\": 28}"
        )
        let logistic = try load(json).modelConfiguration
        #expect(
            logistic
                == ModelConfiguration(
                    kind: .logistic,
                    inputCount: 28,
                    hiddenSizes: [],
                    dropoutRates: [],
                    optimizer: .sgd,
                    learningRate: 0.05,
                    isStandardizing: false,
                    seed: 9
                )
        )
        #expect(logistic.shapeDescription == "logistic 28-1")
    }

    @Test("the record format maps onto the record decoder")
    func recordDecoderMapping() throws {
        let byKey = try load(minimal()).training.format.recordDecoder
        #expect(byKey == RecordDecoder(featureCount: 18, label: .key, maxValueBytes: 65536))

        let json = minimal().replacingOccurrences(
            of: "\"group_id\": \"streamlearn\"",
            with: "\"group_id\": \"streamlearn\", "
                + "\"format\": {\"label\": {\"column\": 0}, \"max_value_bytes\": 512}"
        )
        let byColumn = try load(json).training.format.recordDecoder
        #expect(byColumn == RecordDecoder(featureCount: 18, label: .column(0), maxValueBytes: 512))
        #expect(byColumn.fieldCount == 19)
    }

    @Test("FNV-1a 64 matches its published test vectors")
    func fnvVectors() {
        #expect(DaemonConfiguration.fnv1a64([]) == 0xcbf2_9ce4_8422_2325)
        #expect(DaemonConfiguration.fnv1a64(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        #expect(DaemonConfiguration.fnv1a64(Array("foobar".utf8)) == 0x8594_4171_f739_67e8)
    }

    @Test("every example in config/ loads without a problem")
    func shippedExamplesLoad() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: configDirectory.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        #expect(names.count >= 2)
        for name in names {
            let path = configDirectory.appendingPathComponent(name).path
            #expect(throws: Never.self, "config/\(name)") {
                let configuration = try DaemonConfiguration.load(contentsOf: path, environment: [:], hostname: "h")
                // What loads must also be buildable by the learning engine.
                try configuration.modelConfiguration.validate()
            }
        }
    }
}

/// A fresh directory under the system's temporary directory.
private func makeTemporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "streamlearn-config-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
