import Foundation
import Kafka
import StreamLearnCore
import Testing

/// `streamlearn run` as a process: configuration checks, the systemd conversation, graceful
/// stop with a final checkpoint and matching commits, metrics, and checkpoint recovery.
@Suite("Daemon process")
struct DaemonProcessTests {
    @Test("--check accepts a valid configuration and exits 0 without touching the checkpoint directory")
    func checkValid() throws {
        let directory = try DaemonTestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try DaemonTestFiles.writeConfiguration(
            in: directory,
            bootstrapServers: "127.0.0.1:1",
            topics: ["train"]
        )
        let output = try TestBinary.run(["run", "--config", config, "--check"])
        #expect(output.status == 0, "\(output.standardError)")
        #expect(output.standardOutput.contains("is valid"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/checkpoints"))
    }

    @Test("a configuration with three mistakes reports all three and exits 78 before creating anything")
    func threeMistakes() throws {
        let directory = try DaemonTestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/config.json"
        let text = """
            {
              "kafka": {"bootstrap.servers": "127.0.0.1:1", "socket.timeout.msx": 1000},
              "training": {"topics": ["train"], "group_id": "g", "batch_size": 0},
              "model": {"type": "mlp", "learning_rate": -1},
              "checkpoint": {"directory": "\(directory)/checkpoints"}
            }
            """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        for extra in [["--check"], []] {
            let output = try TestBinary.run(["run", "--config", config] + extra)
            #expect(output.status == 78)
            let message = output.standardError
            #expect(message.contains("3 problems"), "\(message)")
            #expect(message.contains("kafka.\"socket.timeout.msx\""))
            #expect(message.contains("training.batch_size must be between 1 and 65536, got 0"))
            #expect(message.contains("model.learning_rate"))
            #expect(!FileManager.default.fileExists(atPath: directory + "/checkpoints"))
        }
    }

    @Test(
        "READY, STATUS and WATCHDOG reach NOTIFY_SOCKET; SIGTERM gives STOPPING, a final checkpoint, matching commits and metrics"
    )
    func lifecycle() throws {
        let broker = try DaemonTestBroker(topics: ["life-train": 3, "life-metrics": 1])
        let directory = try DaemonTestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let producer = try broker.producer()
        try DaemonTestBroker.produce(producer, topic: "life-train", partitions: 3, count: 3000, badEvery: 1000)
        let config = try DaemonTestFiles.writeConfiguration(
            in: directory,
            bootstrapServers: broker.bootstrapServers,
            topics: ["life-train"],
            groupID: "life",
            checkpointInterval: 30,
            metricsTopic: "life-metrics"
        )
        let listener = try DaemonNotifyListener()
        let daemon = try TestBinary.start(
            ["run", "--config", config],
            environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "2000000"]
        )

        // READY=1 carries its first STATUS, so `systemctl start` returns to a unit showing it.
        let ready = listener.waitFor(timeout: .seconds(30)) { $0.hasPrefix("READY=1\n") }
        #expect(ready?.split(separator: "\n").last?.hasPrefix("STATUS=Ready: learning from life-train") == true)
        // Pings every second while the loop polls; three in a row show the cadence is kept.
        var pings = 0
        let sawPings = listener.waitFor(timeout: .seconds(20)) { message in
            if message == "WATCHDOG=1" { pings += 1 }
            return pings >= 3
        }
        #expect(sawPings != nil, "messages: \(listener.messages)")
        #expect(listener.waitFor(timeout: .seconds(20)) { $0.hasPrefix("STATUS=trained 2997 records") } != nil)

        daemon.send(SIGTERM)
        #expect(listener.waitFor(timeout: .seconds(10)) { $0 == "STOPPING=1" } != nil)
        let output = daemon.wait(timeout: .seconds(30))
        #expect(output.status == 0, "\(output.standardError)")
        #expect(!output.hasSanitizerReport, "\(output.standardError)")
        #expect(output.standardError.contains("Wrote checkpoint"))
        #expect(output.standardError.contains("reason=shutdown"))

        // The final checkpoint holds every record, and the group committed exactly its offsets.
        let checkpoint = try #require(DaemonTestFiles.newestCheckpoint(in: directory))
        let expected: [TopicPartition: Int64] = [
            TopicPartition(topic: "life-train", partition: 0): 1000,
            TopicPartition(topic: "life-train", partition: 1): 1000,
            TopicPartition(topic: "life-train", partition: 2): 1000,
        ]
        #expect(checkpoint.offsets == expected)
        #expect(checkpoint.metadata["records_trained"] == "2997")
        #expect(checkpoint.metadata["bad_records"] == "3")
        let admin = try KafkaAdmin(configuration: broker.configuration)
        let committed = try admin.listGroupOffsets(group: "life", topics: ["life-train"], timeout: .seconds(10))
        var committedOffsets: [TopicPartition: Int64] = [:]
        for (partition, offset) in committed {
            committedOffsets[TopicPartition(topic: partition.topic, partition: partition.partition)] = offset
        }
        #expect(committedOffsets == checkpoint.offsets)

        // Metrics messages carry DESIGN.md's fields.
        let metrics = try readLastMetrics(broker: broker, topic: "life-metrics")
        let document = try #require(metrics)
        for key in [
            "ts", "instance", "uptime_s", "model", "training", "inference", "lag", "bad_records", "dead_lettered",
            "checkpoint",
        ] {
            #expect(document[key] != nil, "missing \(key) in \(document)")
        }
        let training = try #require(document["training"] as? [String: Any])
        for key in ["records", "records_per_s", "loss", "accuracy", "auc"] {
            #expect(training.keys.contains(key), "missing training.\(key)")
        }
        #expect((training["records"] as? NSNumber)?.int64Value == 2997)
        #expect((document["model"] as? [String: Any])?["step"] != nil)
        // No inference section: the counts are 0 and the figures null, but the keys are there.
        let inference = try #require(document["inference"] as? [String: Any])
        #expect(
            Set(inference.keys)
                == ["records", "predictions", "bad_records", "already_predicted", "accuracy", "loss", "auc"]
        )
        #expect((inference["records"] as? NSNumber)?.intValue == 0)
        #expect(inference["accuracy"] is NSNull)
        #expect((document["checkpoint"] as? [String: Any])?.keys.contains("sequence") == true)
        #expect((document["checkpoint"] as? [String: Any])?.keys.contains("age_s") == true)
        #expect((document["bad_records"] as? NSNumber)?.intValue == 3)
        let lag = try #require(document["lag"] as? [String: Any])
        let topicLag = try #require(lag["life-train"] as? [String: Any])
        #expect(Set(topicLag.keys) == ["0", "1", "2"])
        #expect(document["instance"] as? String == "daemon-test")
    }

    @Test("a damaged newest checkpoint is skipped with an error naming the file")
    func damagedCheckpoint() throws {
        let directory = try DaemonTestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try DaemonTestFiles.writeConfiguration(
            in: directory,
            bootstrapServers: "127.0.0.1:1",
            topics: ["train"]
        )
        let configuration = try DaemonConfiguration.load(contentsOf: config)
        let store = CheckpointStore(directory: directory + "/checkpoints", keep: 5)
        try store.prepareDirectory()
        let model = Model(configuration: configuration.modelConfiguration)
        let offsets = [TopicPartition(topic: "train", partition: 0): Int64(77)]
        try store.write(Checkpoint(sequence: 1, model: model.state, offsets: offsets))
        let newest = try store.write(Checkpoint(sequence: 2, model: model.state, offsets: offsets))
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: newest)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: newest))

        let daemon = try TestBinary.start(["run", "--config", config])
        let error = try daemon.waitForLine(onStandardError: true) { $0.hasPrefix("<3>") }
        #expect(error.contains(newest))
        #expect(error.contains("checksum mismatch"))
        try daemon.waitForLine(onStandardError: true) {
            $0.contains("Loaded checkpoint") && $0.contains("checkpoint-000000000001")
        }
        daemon.send(SIGTERM)
        let output = daemon.wait(timeout: .seconds(30))
        #expect(output.status == 0, "\(output.standardError)")
        #expect(!output.hasSanitizerReport, "\(output.standardError)")
    }

    @Test("a checkpoint of another model shape is refused with both shapes unless --reset-model")
    func shapeMismatch() throws {
        let directory = try DaemonTestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try DaemonTestFiles.writeConfiguration(
            in: directory,
            bootstrapServers: "127.0.0.1:1",
            topics: ["train"]
        )
        let store = CheckpointStore(directory: directory + "/checkpoints", keep: 5)
        try store.prepareDirectory()
        let other = Model(
            configuration: ModelConfiguration(kind: .mlp, inputCount: 18, hiddenSizes: [4], dropoutRates: [0])
        )
        try store.write(
            Checkpoint(sequence: 1, model: other.state, offsets: [TopicPartition(topic: "train", partition: 0): 5])
        )

        let refused = try TestBinary.run(["run", "--config", config])
        #expect(refused.status == 78)
        #expect(refused.standardError.contains("mlp 18-4-1"), "\(refused.standardError)")
        #expect(refused.standardError.contains("logistic 18-1"))
        #expect(refused.standardError.contains("--reset-model"))

        let daemon = try TestBinary.start(["run", "--config", config, "--reset-model"])
        try daemon.waitForLine(onStandardError: true) { $0.contains("starting a new model") }
        daemon.send(SIGTERM)
        let output = daemon.wait(timeout: .seconds(30))
        #expect(output.status == 0, "\(output.standardError)")
    }

    @Test("a second SIGTERM exits at once with status 1 while the graceful stop waits for Kafka")
    func secondSignal() throws {
        let broker = try DaemonTestBroker(topics: ["twice-train": 1])
        let directory = try DaemonTestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try DaemonTestBroker.produce(try broker.producer(), topic: "twice-train", partitions: 1, count: 100)
        let config = try DaemonTestFiles.writeConfiguration(
            in: directory,
            bootstrapServers: broker.bootstrapServers,
            topics: ["twice-train"],
            groupID: "twice"
        )
        let daemon = try TestBinary.start(["run", "--config", config])
        try daemon.waitForLine(onStandardError: true) { $0.contains("Assigned") }

        // A frozen broker keeps its connections open and answers nothing: the final commit of
        // the graceful stop waits for it, and a second SIGTERM must not.
        broker.process.send(SIGSTOP)
        defer { broker.process.send(SIGCONT) }
        daemon.send(SIGTERM)
        try daemon.waitForLine(onStandardError: true) { $0.contains("Stopping: writing the final checkpoint") }
        daemon.send(SIGTERM)
        let output = daemon.wait(timeout: .seconds(20))
        #expect(output.status == 1, "\(output.standardError)")
        #expect(output.standardError.contains("again, exiting at once"))
    }

    /// The newest JSON message on `topic`, parsed.
    private func readLastMetrics(broker: DaemonTestBroker, topic: String) throws -> [String: Any]? {
        let admin = try KafkaAdmin(configuration: broker.configuration)
        let described = try admin.describeTopics([topic], timeout: .seconds(10))
        let high = described.first?.partitions.first?.watermarks?.high ?? 0
        guard high > 0 else { return nil }
        let reader = try KafkaPartitionReader(
            configuration: broker.configuration,
            topic: topic,
            partition: 0,
            startOffset: high - 1,
            endOffset: high
        )
        let batch = KafkaMessageBatch(capacity: 10)
        let deadline = ContinuousClock.now + .seconds(10)
        while !reader.isFinished, ContinuousClock.now < deadline {
            try reader.read(into: batch, timeout: .milliseconds(200))
            if let message = batch.last, let value = message.value {
                let data = Data(value)
                return try JSONSerialization.jsonObject(with: data) as? [String: Any]
            }
        }
        return nil
    }
}
