import Foundation
import StreamLearnCore

/// The daemon configuration that `demo` and `bench pipeline` run: config/streamlearn.json's
/// training and model settings, pointed at the in-process broker and a temporary checkpoint
/// directory. By default without inference or a dead-letter topic (`bench pipeline` measures
/// training alone); `demo` adds both, as config/streamlearn.json has them.
///
/// Built as JSON text and decoded by `DaemonConfiguration.decode`, so it passes exactly the
/// validation a user's file does.
struct InProcessDaemonConfiguration {
    var bootstrapServers: String
    var trainingTopic: String
    var groupID: String
    var checkpointDirectory: String
    var metricsTopic: String
    /// "mlp" (the tutorial's network, the default) or "logistic" (same optimizer and rate).
    var modelKind: ModelState.Kind = .mlp
    var checkpointIntervalSeconds: Double = 60
    var metricsIntervalSeconds: Double = 10
    /// The daemon's log level; the demo keeps it at "warning" so the live table stays readable.
    var logLevel = "warning"
    var instance = "streamlearn-demo"
    /// The "inference" section; nil (the default) means the daemon only trains.
    var inference: Inference?
    /// "dead_letter.topic"; nil (the default) means bad records are only counted and logged.
    var deadLetterTopic: String?

    /// The "inference" section: one input topic, scored into `predictionsTopic`.
    struct Inference {
        var topic: String
        var groupID: String
        var predictionsTopic: String
        /// "exactly-once" (the default, as in config/streamlearn.json) or "at-least-once".
        var delivery = "exactly-once"
    }

    /// The configuration as JSON, in config/streamlearn.json's layout.
    var json: String {
        let model: String
        switch modelKind {
        case .mlp:
            model = """
                { "type": "mlp", "hidden": [128, 256, 128], "dropout": [0.2, 0.4, 0.4],
                  "learning_rate": 0.001, "standardize": true, "seed": 42 }
                """
        case .logistic:
            model = """
                { "type": "logistic", "learning_rate": 0.001, "standardize": true, "seed": 42 }
                """
        }
        var optional = ""
        if let inference {
            optional += """
                  "inference": { "topics": [\(quoted(inference.topic))], "group_id": \(quoted(inference.groupID)),
                                 "predictions_topic": \(quoted(inference.predictionsTopic)),
                                 "delivery": \(quoted(inference.delivery)) },

                """
        }
        if let deadLetterTopic {
            optional += """
                  "dead_letter": { "topic": \(quoted(deadLetterTopic)) },

                """
        }
        // Records produced before the group's first join (about 3 s on the mock) must be
        // trained too, so a fresh group starts at the beginning rather than librdkafka's "latest".
        return """
            {
              "kafka": { "bootstrap.servers": \(quoted(bootstrapServers)), "auto.offset.reset": "earliest" },
              "training": {
                "topics": [\(quoted(trainingTopic))], "group_id": \(quoted(groupID)),
                "format": { "type": "csv", "label": "key", "features": 18 },
                "poll_max_records": 1024, "poll_timeout_ms": 1000,
                "batch_size": 32, "epochs_per_poll": 1, "shuffle": true
              },
              "model": \(model),
              "checkpoint": { "directory": \(quoted(checkpointDirectory)),
                              "interval_seconds": \(checkpointIntervalSeconds), "keep": 3 },
              "metrics": { "topic": \(quoted(metricsTopic)), "interval_seconds": \(metricsIntervalSeconds) },
            \(optional)  "log_level": \(quoted(logLevel)),
              "instance": \(quoted(instance))
            }
            """
    }

    /// Decodes and validates `json`; a problem here is a bug of this command, reported with the
    /// validator's text and status 78.
    func make(commandName: String) throws -> DaemonConfiguration {
        do {
            return try DaemonConfiguration.decode(Array(json.utf8), path: "(\(commandName) configuration)")
        } catch {
            throw CommandError(.configError, "\(commandName): \(error)")
        }
    }

    private func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
