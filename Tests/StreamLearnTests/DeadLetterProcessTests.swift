import Foundation
import Kafka
import StreamLearn
import StreamLearnCore
import Testing

/// Issue 6's bad-input guarantee, end to end: `streamlearn run` against a `streamlearn broker`
/// process, with every kind of malformed record interleaved into a training topic and an
/// inference topic. Each bad record must reach the dead-letter topic once, byte for byte, with
/// headers saying why and where from; no bad record may stop the daemon, hold back a commit or
/// touch the model.
@Suite("Dead letters of the daemon process")
struct DeadLetterProcessTests {
    static let trainTopic = "dl-train"
    static let cleanTopic = "dl-clean"
    static let inferenceTopic = "dl-infer"
    static let predictionsTopic = "dl-predictions"
    static let deadLetterTopic = "dl-dead"
    static let metricsTopic = "dl-metrics"
    static let pollSize = 16
    static let maxValueBytes = 512
    static let featureCount = 18

    @Test(
        "every bad training and inference record is dead-lettered once, unchanged, with its reason and source; none reaches the model or a prediction"
    )
    func badRecordsAreDeadLetteredAndNeverLearned() throws {
        let plan = InputPlan()
        // Every kind of malformation is in both the training and the inference input.
        #expect(Set(plan.train[0].compactMap(\.malformation)) == Set(Malformation.allCases))
        #expect(Set(plan.inference.joined().compactMap(\.malformation)) == Set(Malformation.allCases))
        let broker = try DaemonTestBroker(topics: [
            Self.trainTopic: 1, Self.cleanTopic: 1, Self.inferenceTopic: 2, Self.predictionsTopic: 2,
            Self.deadLetterTopic: 2, Self.metricsTopic: 1,
        ])
        let admin = try KafkaAdmin(configuration: broker.configuration)
        try produce(plan, broker: broker)
        for (topic, partitions) in plan.partitionsByTopic {
            let marks = try watermarks(admin, topic)
            for (partition, records) in partitions.enumerated() {
                #expect(marks[Int32(partition)]?.high == Int64(records.count), "\(topic)[\(partition)] offsets")
            }
        }

        // Two daemons at once: one on the dirty topics, one on the clean records alone.
        let dirtyDirectory = try TestDirectory("deadletter-dirty")
        let cleanDirectory = try TestDirectory("deadletter-clean")
        let dirtyConfig = try writeConfiguration(
            in: dirtyDirectory,
            broker: broker,
            trainingTopic: Self.trainTopic,
            instance: "dl-dirty",
            extraSections: """
                  "metrics": {"topic": "\(Self.metricsTopic)", "interval_seconds": 0.5},
                  "inference": {"topics": ["\(Self.inferenceTopic)"], "group_id": "dl-dirty-infer",
                                "predictions_topic": "\(Self.predictionsTopic)", "delivery": "exactly-once"},
                  "dead_letter": {"topic": "\(Self.deadLetterTopic)"},
                """
        )
        let cleanConfig = try writeConfiguration(
            in: cleanDirectory,
            broker: broker,
            trainingTopic: Self.cleanTopic,
            instance: "dl-clean",
            extraSections: ""
        )
        let dirty = try TestBinary.start(["run", "--config", dirtyConfig])
        let clean = try TestBinary.start(["run", "--config", cleanConfig])

        // Training: the checkpoint covers the whole partition, bad tail included.
        let trainEnd = Int64(plan.train[0].count)
        let trainPartition = TopicPartition(topic: Self.trainTopic, partition: 0)
        let dirtyTrained = DaemonTestFiles.waitForCheckpoint(in: dirtyDirectory.path, timeout: .seconds(40)) {
            $0.offsets[trainPartition] == trainEnd
        }
        #expect(dirtyTrained != nil, "dirty daemon never checkpointed offset \(trainEnd): \(dirty.standardError)")
        let cleanPartition = TopicPartition(topic: Self.cleanTopic, partition: 0)
        let cleanEnd = Int64(plan.clean[0].count)
        let cleanTrained = DaemonTestFiles.waitForCheckpoint(in: cleanDirectory.path, timeout: .seconds(40)) {
            $0.offsets[cleanPartition] == cleanEnd
        }
        #expect(cleanTrained != nil, "clean daemon never checkpointed offset \(cleanEnd): \(clean.standardError)")

        // Both groups of the dirty daemon commit up to the log-end offsets, although the last
        // polls of dl-train[0] and dl-infer[1] hold nothing but bad records.
        let trainingTarget = [KafkaTopicPartition(topic: Self.trainTopic, partition: 0): trainEnd]
        var inferenceTarget: [KafkaTopicPartition: Int64] = [:]
        for (partition, records) in plan.inference.enumerated() {
            inferenceTarget[KafkaTopicPartition(topic: Self.inferenceTopic, partition: Int32(partition))] =
                Int64(records.count)
        }
        var trainingCommitted: [KafkaTopicPartition: Int64] = [:]
        var inferenceCommitted: [KafkaTopicPartition: Int64] = [:]
        let isCommitted = try waitUntil(timeout: .seconds(30)) {
            trainingCommitted = try admin.listGroupOffsets(
                group: "dl-dirty-train",
                topics: [Self.trainTopic],
                timeout: .seconds(5)
            )
            inferenceCommitted = try admin.listGroupOffsets(
                group: "dl-dirty-infer",
                topics: [Self.inferenceTopic],
                timeout: .seconds(5)
            )
            return trainingCommitted == trainingTarget && inferenceCommitted == inferenceTarget
        }
        #expect(isCommitted, "committed \(trainingCommitted) and \(inferenceCommitted): \(dirty.standardError)")

        // The metrics count every bad record, and the dead-letter topic confirmed every copy.
        let goodInference = plan.inference.joined().filter { $0.malformation == nil }.count
        let badInference = plan.inference.joined().count - goodInference
        let badTraining = plan.train[0].filter { $0.malformation != nil }.count
        let goodTraining = plan.clean[0].count
        var metrics: MetricsFigures?
        let isCounted = try waitUntil(timeout: .seconds(30)) {
            metrics = try lastMetrics(broker, admin: admin)
            return metrics?.deadLettered == badTraining + badInference
                && metrics?.inferencePredictions == goodInference
                && metrics?.trainingRecords == goodTraining
        }
        #expect(isCounted, "last metrics: \(String(describing: metrics))")
        #expect(metrics?.badRecords == badTraining)
        #expect(metrics?.inferenceBadRecords == badInference)
        #expect(metrics?.inferenceRecords == plan.inference.joined().count)

        dirty.send(SIGTERM)
        clean.send(SIGTERM)
        let dirtyOutput = dirty.wait(timeout: .seconds(30))
        let cleanOutput = clean.wait(timeout: .seconds(30))
        #expect(dirtyOutput.status == 0, "\(dirtyOutput.standardError)")
        #expect(cleanOutput.status == 0, "\(cleanOutput.standardError)")
        #expect(!dirtyOutput.hasSanitizerReport && !cleanOutput.hasSanitizerReport)
        // Bad records are logged at a bounded rate, not one line each.
        let decodeLines = dirtyOutput.standardError.split(separator: "\n").filter {
            $0.contains("Failed to decode record")
        }
        #expect(!decodeLines.isEmpty)
        #expect(decodeLines.count < badTraining + badInference)

        try checkDeadLetters(plan, broker: broker, admin: admin)
        try checkPredictions(plan, broker: broker, admin: admin)
        try checkModels(dirtyDirectory: dirtyDirectory.path, cleanDirectory: cleanDirectory.path, plan: plan)

        // The broker dropped nothing: each input topic still starts at offset 0.
        for topic in [Self.trainTopic, Self.cleanTopic, Self.inferenceTopic, Self.deadLetterTopic] {
            for (partition, marks) in try watermarks(admin, topic) {
                #expect(marks.low == 0, "\(topic)[\(partition)] low watermark")
            }
        }
    }

    // MARK: - Checks

    /// Every bad record is in the dead-letter topic exactly once: its key, value and headers as
    /// produced, then the six streamlearn headers, in the order the publisher appends them.
    private func checkDeadLetters(_ plan: InputPlan, broker: DaemonTestBroker, admin: KafkaAdmin) throws {
        var copies: [InputPosition: StoredRecord] = [:]
        var copyCount = 0
        for (partition, marks) in try watermarks(admin, Self.deadLetterTopic) {
            for record in try readAll(broker, topic: Self.deadLetterTopic, partition: partition, end: marks.high) {
                copyCount += 1
                let source = try #require(record.source, "a dead letter without its source headers")
                #expect(copies[source] == nil, "\(source) dead-lettered twice")
                copies[source] = record
            }
        }
        var expectedCount = 0
        for (topic, partitions) in plan.partitionsByTopic where topic != Self.cleanTopic {
            for (partition, records) in partitions.enumerated() {
                for (offset, input) in records.enumerated() {
                    let source = InputPosition(topic: topic, partition: Int32(partition), offset: Int64(offset))
                    guard let malformation = input.malformation else {
                        #expect(copies[source] == nil, "good record \(source) was dead-lettered")
                        continue
                    }
                    expectedCount += 1
                    guard let copy = copies[source] else {
                        Issue.record("bad record \(source) (\(malformation)) is missing from the dead-letter topic")
                        continue
                    }
                    #expect(copy.key == input.key, "\(source) key")
                    #expect(copy.value == input.value, "\(source) value (\(malformation))")
                    let added = [
                        KafkaHeader(name: RecordHeaderName.reason, text: malformation.reason),
                        KafkaHeader(name: RecordHeaderName.reasonDetail, text: input.expectedDetail),
                        KafkaHeader(name: RecordHeaderName.sourceTopic, text: topic),
                        KafkaHeader(name: RecordHeaderName.sourcePartition, text: String(partition)),
                        KafkaHeader(name: RecordHeaderName.sourceOffset, text: String(offset)),
                        KafkaHeader(name: RecordHeaderName.instance, text: "dl-dirty"),
                    ]
                    #expect(copy.headers == input.headers + added, "\(source) headers")
                }
            }
        }
        #expect(copyCount == expectedCount)
        #expect(expectedCount == plan.badCount)
    }

    /// One prediction per good inference record, keyed like its input; none for a bad one.
    private func checkPredictions(_ plan: InputPlan, broker: DaemonTestBroker, admin: KafkaAdmin) throws {
        var predicted: [String: Int] = [:]
        var keys: [String: [UInt8]?] = [:]
        for (partition, marks) in try watermarks(admin, Self.predictionsTopic) {
            for record in try readAll(broker, topic: Self.predictionsTopic, partition: partition, end: marks.high) {
                let value = try #require(record.value)
                let document = try #require(try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any])
                let topic = document["topic"] as? String ?? "?"
                let inputPartition = (document["partition"] as? NSNumber)?.intValue ?? -1
                let offset = (document["offset"] as? NSNumber)?.intValue ?? -1
                let source = "\(topic)/\(inputPartition)/\(offset)"
                predicted[source, default: 0] += 1
                keys[source] = record.key
            }
        }
        var expected: [String: Int] = [:]
        for (partition, records) in plan.inference.enumerated() {
            for (offset, input) in records.enumerated() where input.malformation == nil {
                let source = "\(Self.inferenceTopic)/\(partition)/\(offset)"
                expected[source] = 1
                #expect(keys[source] == .some(input.key), "prediction key of \(source)")
            }
        }
        let unexpected = predicted.filter { expected[$0.key] == nil }.keys.sorted()
        let missing = expected.keys.filter { predicted[$0] == nil }.sorted()
        let repeated = predicted.filter { $0.value > 1 }.keys.sorted()
        #expect(unexpected.isEmpty, "predictions for bad or unknown records: \(unexpected)")
        #expect(missing.isEmpty, "good records without a prediction: \(missing)")
        #expect(repeated.isEmpty, "records predicted more than once: \(repeated)")
    }

    /// The model trained on the dirty topic is the model trained on its good records alone.
    private func checkModels(dirtyDirectory: String, cleanDirectory: String, plan: InputPlan) throws {
        let dirty = try #require(DaemonTestFiles.newestCheckpoint(in: dirtyDirectory))
        let clean = try #require(DaemonTestFiles.newestCheckpoint(in: cleanDirectory))
        let goodCount = Int64(plan.train[0].filter { $0.malformation == nil }.count)
        let badCount = plan.train[0].count - Int(goodCount)
        #expect(dirty.offsets == [TopicPartition(topic: Self.trainTopic, partition: 0): Int64(plan.train[0].count)])
        #expect(
            DaemonTestFiles.trainedCounts(dirty) == [TopicPartition(topic: Self.trainTopic, partition: 0): goodCount]
        )
        #expect(dirty.metadata["records_trained"] == String(goodCount))
        #expect(dirty.metadata["bad_records"] == String(badCount))
        #expect(clean.offsets == [TopicPartition(topic: Self.cleanTopic, partition: 0): goodCount])
        #expect(
            DaemonTestFiles.trainedCounts(clean) == [TopicPartition(topic: Self.cleanTopic, partition: 0): goodCount]
        )
        #expect(clean.metadata["bad_records"] == "0")

        // Exact equality, not a tolerance: both models start from the same seed, and with
        // batch_size 1, shuffle false, dropout 0 and standardize false, each good record is one
        // optimizer step on one row whatever poll it arrived in (no shuffle draws, no running
        // statistics updated per poll, no mean over a mini-batch). The two daemons therefore
        // run the same float operations in the same order; a bad record that moved the model,
        // took a step, or shifted the Adam step count would change the bits.
        #expect(dirty.model.recordsTrained == goodCount)
        #expect(dirty.model.batchesTrained == goodCount)
        let difference = zip(dirty.model.parameters, clean.model.parameters).map { abs($0 - $1) }.max() ?? 0
        #expect(dirty.model.parameters.count == clean.model.parameters.count)
        #expect(dirty.model.parameters == clean.model.parameters, "largest difference \(difference)")
        #expect(dirty.model.optimizer == clean.model.optimizer)
        #expect(dirty.model == clean.model)
    }

    // MARK: - Producing

    /// Produces every planned record on its partition, in order, and waits for delivery.
    private func produce(_ plan: InputPlan, broker: DaemonTestBroker) throws {
        let producer = try broker.producer()
        // An empty value needs a non-nil pointer, or librdkafka would write a null value.
        let emptyStorage: [UInt8] = [0]
        for (topic, partitions) in plan.partitionsByTopic {
            for (partition, records) in partitions.enumerated() {
                for record in records {
                    try emptyStorage.withUnsafeBytes { storage in
                        try Self.withBytes(record.key, empty: storage) { key in
                            try Self.withBytes(record.value, empty: storage) { value in
                                try producer.send(
                                    topic: topic,
                                    partition: Int32(partition),
                                    key: key,
                                    value: value,
                                    headers: record.headers
                                )
                            }
                        }
                    }
                }
            }
        }
        try producer.flush(timeout: .seconds(30))
        #expect(producer.failedDeliveryCount == 0)
    }

    private static func withBytes(
        _ bytes: [UInt8]?,
        empty: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer?) throws -> Void
    ) throws {
        guard let bytes else { return try body(nil) }
        guard !bytes.isEmpty else { return try body(UnsafeRawBufferPointer(rebasing: empty[0..<0])) }
        try bytes.withUnsafeBytes { try body($0) }
    }

    // MARK: - Reading

    /// Reads `topic`[`partition`] from offset 0 to `end`, keys, values and headers as bytes.
    private func readAll(_ broker: DaemonTestBroker, topic: String, partition: Int32, end: Int64) throws
        -> [StoredRecord]
    {
        guard end > 0 else { return [] }
        let records = try StoredRecord.readAll(
            configuration: broker.configuration,
            topic: topic,
            partition: partition,
            timeout: .seconds(20)
        ).records.filter { $0.offset < end }
        #expect(records.count == Int(end), "read \(records.count) of \(end) records of \(topic)[\(partition)]")
        return records
    }

    private func watermarks(_ admin: KafkaAdmin, _ topic: String) throws -> [Int32: KafkaWatermarks] {
        let described = try admin.describeTopics([topic], timeout: .seconds(10))
        var result: [Int32: KafkaWatermarks] = [:]
        for partition in described.first?.partitions ?? [] {
            guard let marks = partition.watermarks else {
                throw TestBinary.Failure(description: "no watermarks for '\(topic)'[\(partition.partition)]")
            }
            result[partition.partition] = marks
        }
        return result
    }

    /// The newest metrics message, or nil before the first.
    private func lastMetrics(_ broker: DaemonTestBroker, admin: KafkaAdmin) throws -> MetricsFigures? {
        guard let high = try watermarks(admin, Self.metricsTopic)[0]?.high, high > 0 else { return nil }
        let reader = try KafkaPartitionReader(
            configuration: broker.configuration,
            topic: Self.metricsTopic,
            partition: 0,
            startOffset: high - 1,
            endOffset: high
        )
        let batch = KafkaMessageBatch(capacity: 4)
        let deadline = ContinuousClock.now + .seconds(10)
        while !reader.isFinished, ContinuousClock.now < deadline {
            try reader.read(into: batch, timeout: .milliseconds(200))
            if let value = batch.last?.value {
                let document = try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any]
                return document.map(MetricsFigures.init)
            }
        }
        return nil
    }

    /// Re-evaluates `condition` every 100 ms until it holds or `timeout` passes.
    private func waitUntil(timeout: Duration, _ condition: () throws -> Bool) throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try condition() { return true }
            guard ContinuousClock.now < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    // MARK: - Configuration

    /// A daemon configuration for exact, grouping-independent training: a small MLP with a
    /// fixed seed, batch_size 1, no shuffle, no dropout, no standardisation.
    private func writeConfiguration(
        in directory: TestDirectory,
        broker: DaemonTestBroker,
        trainingTopic: String,
        instance: String,
        extraSections: String
    ) throws -> String {
        try directory.write(
            "config.json",
            """
            {
              "kafka": {"bootstrap.servers": "\(broker.bootstrapServers)", "session.timeout.ms": 6000,
                        "heartbeat.interval.ms": 500},
              "training": {"topics": ["\(trainingTopic)"], "group_id": "\(instance)-train",
                           "format": {"type": "csv", "label": "key", "features": \(Self.featureCount),
                                      "max_value_bytes": \(Self.maxValueBytes)},
                           "poll_max_records": \(Self.pollSize), "poll_timeout_ms": 200,
                           "batch_size": 1, "epochs_per_poll": 1, "shuffle": false},
              "model": {"type": "mlp", "hidden": [8], "dropout": [0.0], "learning_rate": 0.01,
                        "standardize": false, "seed": 1234},
              "checkpoint": {"directory": "\(directory.path)/checkpoints", "interval_seconds": 0.5, "keep": 3},
            \(extraSections)
              "instance": "\(instance)",
              "log_level": "info"
            }
            """
        )
    }
}

// MARK: - The input

/// The kinds of malformed record the test interleaves, each with the reason the dead-letter
/// header must carry.
private enum Malformation: CaseIterable {
    case wrongFieldCount, notANumber, nan, infinity, badLabel, oversized, empty, null

    var reason: String {
        switch self {
        case .wrongFieldCount: "wrong_field_count"
        case .notANumber: "not_a_number"
        case .nan, .infinity: "not_finite"
        case .badLabel: "bad_label"
        case .oversized: "oversized"
        case .empty, .null: "empty"
        }
    }
}

/// One record to produce: key, value and headers as bytes, and what is wrong with it, if anything.
private struct InputRecord {
    var key: [UInt8]?
    var value: [UInt8]?
    var headers: [KafkaHeader]
    var malformation: Malformation?
    /// The streamlearn.reason.detail header its dead-letter copy must carry.
    var expectedDetail = ""

    /// A decodable record: label `index % 2` in the key (nil key when `isUnlabelled`), 18
    /// features derived from `index`.
    static func good(_ index: Int, isUnlabelled: Bool = false) -> InputRecord {
        InputRecord(
            key: isUnlabelled ? nil : Array(String(index % 2).utf8),
            value: Array(features(index).joined(separator: ",").utf8),
            headers: [KafkaHeader(name: "test.index", text: String(index))]
        )
    }

    /// A record with `malformation`, otherwise like `good(index)`; it carries a null-valued
    /// header too, which its copy must keep.
    static func bad(_ index: Int, _ malformation: Malformation) -> InputRecord {
        var fields = features(index)
        var key: [UInt8]? = Array(String(index % 2).utf8)
        var value: [UInt8]?
        let detail: String
        switch malformation {
        case .wrongFieldCount:
            value = Array("0.1,0.2,0.3".utf8)
            detail = "expected \(DeadLetterProcessTests.featureCount) fields, found 3"
        case .notANumber:
            fields[4] = "abc"
            detail = "field 5 is not a number: 'abc'"
        case .nan:
            fields[7] = "NaN"
            detail = "field 8 is not a finite number: 'NaN'"
        case .infinity:
            fields[17] = "Infinity"
            detail = "field 18 is not a finite number: 'Infinity'"
        case .badLabel:
            key = Array("2".utf8)
            detail = "label (the message key) is not 0 or 1: '2'"
        case .oversized:
            // Numbers that decode fine, only too many bytes of them.
            fields = fields.map { $0 + String(repeating: "0", count: 30) }
            let size = fields.joined(separator: ",").utf8.count
            detail = "value is \(size) bytes, more than the limit of \(DeadLetterProcessTests.maxValueBytes)"
        case .empty:
            value = []
            detail = "value is empty"
        case .null:
            detail = "value is empty"
        }
        if value == nil, malformation != .null {
            value = Array(fields.joined(separator: ",").utf8)
        }
        return InputRecord(
            key: key,
            value: value,
            headers: [
                KafkaHeader(name: "test.index", text: String(index)), KafkaHeader(name: "test.null", value: nil),
            ],
            malformation: malformation,
            expectedDetail: detail
        )
    }

    private static func features(_ index: Int) -> [String] {
        (0..<DeadLetterProcessTests.featureCount).map { feature in
            let base = Double((index &* 7919 &+ feature &* 104_729) % 1000) / 1000
            return String(Double(index % 2) * 0.5 + base)
        }
    }
}

/// What the test produces, per topic and partition, in offset order.
///
/// dl-train (one partition): 320 records with every tenth bad, then a tail of three polls of
/// bad records only. dl-clean: the good records of dl-train, in the same order. dl-infer (two
/// partitions): 160 records each with every tenth bad, some good ones unlabelled (null key);
/// partition 1 ends with three polls of bad records only. The bad kinds cycle through all of
/// `Malformation`.
///
/// The last good record of dl-train[0] is at offset 319, so whatever sizes the polls have, the
/// poll holding it ends by offset 334 and offsets 335 to 367 come in polls of bad records only:
/// the checkpoint and commit reaching 368 prove that such polls advance and commit. On dl-infer
/// the same holds unless a poll mixes in records of partition 0.
private struct InputPlan {
    var train: [[InputRecord]] = [[]]
    var clean: [[InputRecord]] = [[]]
    var inference: [[InputRecord]] = [[], []]

    init() {
        var kinds = Malformation.allCases.makeCycle()
        let tail = 3 * DeadLetterProcessTests.pollSize
        for index in 0..<320 {
            let record = index % 10 == 4 ? InputRecord.bad(index, kinds.next()) : InputRecord.good(index)
            train[0].append(record)
        }
        for index in 320..<(320 + tail) {
            train[0].append(InputRecord.bad(index, kinds.next()))
        }
        clean[0] = train[0].filter { $0.malformation == nil }
        for partition in 0..<2 {
            let count = partition == 1 ? 160 + tail : 160
            for position in 0..<count {
                let index = 1000 * (partition + 1) + position
                if position % 10 == 6 || position >= 160 {
                    inference[partition].append(InputRecord.bad(index, kinds.next()))
                } else {
                    inference[partition].append(InputRecord.good(index, isUnlabelled: position % 7 == 0))
                }
            }
        }
    }

    var partitionsByTopic: [(String, [[InputRecord]])] {
        [
            (DeadLetterProcessTests.trainTopic, train),
            (DeadLetterProcessTests.cleanTopic, clean),
            (DeadLetterProcessTests.inferenceTopic, inference),
        ]
    }

    /// Bad records in the dirty topics.
    var badCount: Int {
        train.joined().filter { $0.malformation != nil }.count
            + inference.joined().filter { $0.malformation != nil }.count
    }
}

extension Array {
    /// An endless iterator over the elements, in order, starting again after the last.
    fileprivate func makeCycle() -> CycleIterator<Element> { CycleIterator(elements: self) }
}

private struct CycleIterator<Element> {
    let elements: [Element]
    var position = 0

    mutating func next() -> Element {
        defer { position = (position + 1) % elements.count }
        return elements[position]
    }
}

/// The figures of a metrics message this test checks.
private struct MetricsFigures: CustomStringConvertible {
    var trainingRecords: Int?
    var badRecords: Int?
    var deadLettered: Int?
    var inferenceRecords: Int?
    var inferencePredictions: Int?
    var inferenceBadRecords: Int?

    init(_ document: [String: Any]) {
        let training = document["training"] as? [String: Any]
        let inference = document["inference"] as? [String: Any]
        trainingRecords = (training?["records"] as? NSNumber)?.intValue
        badRecords = (document["bad_records"] as? NSNumber)?.intValue
        deadLettered = (document["dead_lettered"] as? NSNumber)?.intValue
        inferenceRecords = (inference?["records"] as? NSNumber)?.intValue
        inferencePredictions = (inference?["predictions"] as? NSNumber)?.intValue
        inferenceBadRecords = (inference?["bad_records"] as? NSNumber)?.intValue
    }

    var description: String {
        "training.records \(trainingRecords ?? -1), bad_records \(badRecords ?? -1), dead_lettered "
            + "\(deadLettered ?? -1), inference.records \(inferenceRecords ?? -1), inference.predictions "
            + "\(inferencePredictions ?? -1), inference.bad_records \(inferenceBadRecords ?? -1)"
    }
}
