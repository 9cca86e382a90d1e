import Foundation
import Kafka
import StreamLearnCore
import Testing

@testable import StreamLearn

/// Inference input with known contents: 4 features, the label in the key (every tenth record
/// unlabelled), and every 50th record bad, cycling through every kind of bad record.
private struct InferenceInput {
    struct Record {
        var key: [UInt8]?
        var value: [UInt8]?
        var partition: Int32
        var features: [Float]?
        var label: Float?
    }

    static let topic = "susy-test"
    let partitionCount: Int32
    private(set) var records: [Record] = []
    /// Input position of every record, in the order produced.
    private(set) var positions: [InputPosition] = []

    init(count: Int, partitions: Int32) {
        partitionCount = partitions
        var nextOffset = [Int64](repeating: 0, count: Int(partitions))
        for index in 0..<count {
            let partition = Int32(index % Int(partitions))
            var record: Record
            if index % 50 == 49 {
                let bad = DeadLetterPublisherTests.badRecords[(index / 50) % DeadLetterPublisherTests.badRecords.count]
                record = Record(key: bad.key.map { Array($0.utf8) }, value: bad.value, partition: partition)
            } else {
                let features = (0..<4).map { column in
                    Float((index * 7919 + column * 104_729) % 2001 - 1000) / 250
                }
                let text = features.map { String($0) }.joined(separator: ",")
                let label: Float? = index % 10 == 3 ? nil : Float((index / 3) % 2)
                record = Record(
                    key: label.map { Array(($0 == 1 ? "1" : "0").utf8) },
                    value: Array(text.utf8),
                    partition: partition,
                    features: features,
                    label: label
                )
            }
            records.append(record)
            positions.append(
                InputPosition(topic: Self.topic, partition: partition, offset: nextOffset[Int(partition)])
            )
            nextOffset[Int(partition)] += 1
        }
    }

    var goodPositions: Set<InputPosition> {
        Set(zip(records, positions).filter { $0.0.features != nil }.map(\.1))
    }

    var badPositions: Set<InputPosition> {
        Set(zip(records, positions).filter { $0.0.features == nil }.map(\.1))
    }

    var highWatermarks: [KafkaTopicPartition: Int64] {
        Dictionary(grouping: positions, by: { KafkaTopicPartition(topic: $0.topic, partition: $0.partition) })
            .mapValues { Int64($0.count) }
    }

    func produce(to test: InferenceCluster) throws {
        try test.produce(topic: Self.topic, records: records.map { ($0.key, $0.value, $0.partition) })
    }
}

/// A small logistic model and a scorer over it, shared by the tests.
private func makeScorer(checkpointSequence: Int64 = 5) throws -> (ModelSnapshotScorer, Model) {
    let model = Model(
        configuration: ModelConfiguration(
            kind: .logistic,
            inputCount: 4,
            hiddenSizes: [],
            dropoutRates: [],
            optimizer: .adam,
            learningRate: 0.01,
            isStandardizing: false,
            seed: 7
        )
    )
    let version = ModelVersion(step: model.step, checkpointSequence: checkpointSequence)
    return (try ModelSnapshotScorer(state: model.state, version: version), model)
}

private struct Harness {
    let test: InferenceCluster
    let input: InferenceInput
    let group: String
    let delivery: DaemonConfiguration.Delivery
    let scorer: ModelSnapshotScorer
    let log = CapturedLog()
    var pollMaxRecords = 500

    init(records: Int, delivery: DaemonConfiguration.Delivery, predictionPartitions: Int32 = 3) throws {
        test = try InferenceCluster(topics: [
            InferenceInput.topic: 3, "predictions": predictionPartitions, "dead": 1,
        ])
        input = InferenceInput(count: records, partitions: 3)
        try input.produce(to: test)
        group = "inference-\(delivery.rawValue)"
        self.delivery = delivery
        scorer = try makeScorer().0
    }

    func makeService() throws -> InferenceService {
        let kafka = test.configuration(["compression.codec": "lz4", "linger.ms": "2"])
        let settings = InferenceSettings(
            kafka: kafka,
            topics: [InferenceInput.topic],
            groupID: group,
            predictionsTopic: "predictions",
            delivery: delivery,
            decoder: DeadLetterPublisherTests.decoder,
            instance: "test-instance",
            pollMaxRecords: pollMaxRecords,
            pollTimeout: .milliseconds(100),
            requestTimeout: .seconds(10),
            scanInitialWindow: 256
        )
        let deadLetters = try DeadLetterPublisher(
            configuration: kafka,
            topic: "dead",
            instance: "test-instance",
            logger: log.logger("dead-letter")
        )
        let service = try InferenceService(
            settings: settings,
            scorer: scorer,
            deadLetters: deadLetters,
            logger: log.logger("inference"),
            kafkaLogHandler: { [log] level, facility, message in
                log.logger("kafka").log(.warning, "\(level) \(facility): \(message)")
            }
        )
        try service.start()
        return service
    }

    /// Steps until the simulated crash; false when it did not come before the deadline.
    func runUntilCrash(_ service: InferenceService) throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            do {
                try service.step()
            } catch InferenceError.simulatedCrash {
                return true
            }
        }
        return false
    }

    /// Steps until the group has committed every input offset; false at the deadline.
    func runUntilCaughtUp(_ service: InferenceService, onStep: (InferenceService.StepSummary) -> Void = { _ in })
        throws -> Bool
    {
        let admin = try KafkaAdmin(configuration: test.configuration())
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let summary = try service.step()
            onStep(summary)
            guard summary.records == 0 && summary.isCommitted else { continue }
            let committed = try admin.listGroupOffsets(
                group: group,
                topics: [InferenceInput.topic],
                timeout: .seconds(10)
            )
            if committed == input.highWatermarks { return true }
        }
        return false
    }

    /// Predictions on the topic, by the source their headers name.
    func predictionsBySource() throws -> [InputPosition: [StoredRecord]] {
        let predictions = try test.readAll(topic: "predictions", partitions: 3)
        var bySource: [InputPosition: [StoredRecord]] = [:]
        for prediction in predictions {
            guard let source = prediction.source else {
                Issue.record("prediction without source headers: \(prediction.valueText ?? "null")")
                continue
            }
            bySource[source, default: []].append(prediction)
        }
        return bySource
    }
}

@Suite("Inference loop against the mock cluster")
struct InferenceServiceTests {
    @Test("exactly-once: crashes between delivery and commit and mid-delivery leave one prediction per input")
    func exactlyOnceAcrossCrashes() throws {
        let harness = try Harness(records: 50_000, delivery: .exactlyOnce)

        var first: InferenceService? = try harness.makeService()
        first!.simulateCrash(afterBatches: 9, at: .afterDelivery)
        #expect(try harness.runUntilCrash(first!))
        first = nil

        var second: InferenceService? = try harness.makeService()
        second!.simulateCrash(afterBatches: 7, at: .afterSend)
        #expect(try harness.runUntilCrash(second!))
        second = nil

        var third: InferenceService? = try harness.makeService()
        third!.simulateCrash(afterBatches: 4, at: .afterDelivery)
        #expect(try harness.runUntilCrash(third!))
        third = nil

        let last = try harness.makeService()
        var skipped = 0
        #expect(try harness.runUntilCaughtUp(last) { skipped += $0.alreadyPredicted })
        try last.close()

        let bySource = try harness.predictionsBySource()
        let duplicated = bySource.filter { $0.value.count > 1 }
        #expect(duplicated.isEmpty, "\(duplicated.count) inputs predicted more than once")
        let good = harness.input.goodPositions
        let predicted = Set(bySource.keys)
        #expect(predicted.count == good.count)
        let missing = good.subtracting(predicted).count
        let unexpected = predicted.subtracting(good).count
        #expect(missing == 0)
        #expect(unexpected == 0)
        #expect(
            harness.log.all.contains { $0.contains("Resuming inference after predictions already delivered") }
        )

        let deadLetters = try harness.test.readAll(topic: "dead", partition: 0)
        let deadSources = Set(deadLetters.compactMap(\.source))
        let deadMismatches = deadSources.symmetricDifference(harness.input.badPositions).count
        #expect(deadMismatches == 0)
    }

    @Test("each prediction carries its input's key, partition mapping, source, score and model version")
    func predictionContents() throws {
        let harness = try Harness(records: 3_000, delivery: .exactlyOnce, predictionPartitions: 2)
        let service = try harness.makeService()
        #expect(try harness.runUntilCaughtUp(service))
        try service.close()

        let (_, model) = try makeScorer()
        let predictions = try harness.test.readAll(topic: "predictions", partitions: 2)
        #expect(predictions.count == harness.input.goodPositions.count)
        let recordsByPosition = Dictionary(
            uniqueKeysWithValues: zip(harness.input.positions, harness.input.records)
        )
        var checked = 0
        for prediction in predictions {
            let source = try #require(prediction.source)
            let record = try #require(recordsByPosition[source])
            let features = try #require(record.features)
            #expect(prediction.partition == source.partition % 2)
            #expect(prediction.key == record.key)

            var score: [Float] = [0]
            features.withUnsafeBufferPointer { features in
                score.withUnsafeMutableBufferPointer { model.predict(features: features, into: $0) }
            }
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(prediction.value ?? [])) as? [String: Any]
            )
            #expect(object["topic"] as? String == source.topic)
            #expect((object["partition"] as? NSNumber)?.int32Value == source.partition)
            #expect((object["offset"] as? NSNumber)?.int64Value == source.offset)
            #expect((object["model_step"] as? NSNumber)?.int64Value == 0)
            #expect((object["checkpoint_sequence"] as? NSNumber)?.int64Value == 5)
            #expect((object["label"] as? NSNumber)?.floatValue == record.label)
            #expect(record.label != nil || object["label"] == nil)
            // OpenBLAS picks kernels by batch shape, so one row alone agrees to about 1e-6.
            let written = try #require((object["score"] as? NSNumber)?.floatValue)
            #expect(abs(written - score[0]) <= 1e-6)
            checked += 1
        }
        #expect(checked == harness.input.goodPositions.count)

        let metrics = service.metrics.snapshot()
        let labelled = harness.input.records.filter { $0.features != nil && $0.label != nil }
        #expect(metrics.predictions == harness.input.goodPositions.count)
        #expect(metrics.labelledRecords == labelled.count)
        #expect(metrics.badRecords == harness.input.badPositions.count)
        #expect(metrics.accuracy.map { (0...1).contains($0) } == true)
        #expect(metrics.auc != nil && metrics.loss != nil)
    }

    @Test("at-least-once: a crash between delivery and commit repeats that batch, and nothing is missing")
    func atLeastOnceAcrossCrash() throws {
        let harness = try Harness(records: 4_000, delivery: .atLeastOnce)
        var first: InferenceService? = try harness.makeService()
        first!.simulateCrash(afterBatches: 3, at: .afterDelivery)
        #expect(try harness.runUntilCrash(first!))
        first = nil

        let second = try harness.makeService()
        #expect(try harness.runUntilCaughtUp(second))
        try second.close()

        let bySource = try harness.predictionsBySource()
        let mismatches = Set(bySource.keys).symmetricDifference(harness.input.goodPositions).count
        #expect(mismatches == 0)
        let repeated = bySource.values.filter { $0.count > 1 }.count
        // The crashed batch (up to 500 records, 2% of them bad) is predicted twice.
        #expect(repeated > 0 && repeated <= 500)
        #expect(bySource.values.allSatisfy { $0.count <= 2 })
    }

    @Test("injected produce, fetch, commit and metadata errors lose and repeat nothing with exactly-once")
    func requestErrorsLoseNothing() throws {
        let harness = try Harness(records: 12_000, delivery: .exactlyOnce)
        let cluster = harness.test.cluster
        var first: InferenceService? = try harness.makeService()
        cluster.pushRequestErrors(
            .produce,
            [.notLeaderForPartition, .requestTimedOut, .transport, .notEnoughReplicas, .leaderNotAvailable]
        )
        cluster.pushRequestErrors(.fetch, [.notLeaderForPartition, .transport])
        cluster.pushRequestErrors(.offsetCommit, [.requestTimedOut, .notCoordinator, .coordinatorNotAvailable])
        first!.simulateCrash(afterBatches: 6, at: .afterDelivery)
        #expect(try harness.runUntilCrash(first!))
        first = nil

        cluster.pushRequestErrors(.metadata, [.leaderNotAvailable, .transport])
        cluster.pushRequestErrors(.offsetCommit, [.requestTimedOut, .rebalanceInProgress])
        cluster.pushRequestErrors(.produce, [.requestTimedOut, .notLeaderForPartition])
        let second = try harness.makeService()
        #expect(try harness.runUntilCaughtUp(second))
        try second.close()

        let bySource = try harness.predictionsBySource()
        #expect(bySource.values.allSatisfy { $0.count == 1 })
        let mismatches = Set(bySource.keys).symmetricDifference(harness.input.goodPositions).count
        #expect(mismatches == 0)
    }

    @Test(
        "a produce that fails for good rewinds the batch, and exactly-once still holds",
        arguments: [DaemonConfiguration.Delivery.exactlyOnce, .atLeastOnce]
    )
    func permanentProduceFailureRewinds(delivery: DaemonConfiguration.Delivery) throws {
        let harness = try Harness(records: 2_000, delivery: delivery)
        let service = try harness.makeService()
        harness.test.cluster.pushRequestErrors(.produce, [.messageSizeTooLarge, .messageSizeTooLarge])
        var rewound = 0
        #expect(try harness.runUntilCaughtUp(service) { if $0.isRewound { rewound += 1 } })
        try service.close()

        #expect(rewound >= 1)
        let bySource = try harness.predictionsBySource()
        let mismatches = Set(bySource.keys).symmetricDifference(harness.input.goodPositions).count
        #expect(mismatches == 0)
        if delivery == .exactlyOnce {
            #expect(bySource.values.allSatisfy { $0.count == 1 })
        }
    }

    @Test("stop() ends a wait for deliveries while the broker is down; a successor predicts the rest exactly once")
    func stopDuringOutage() throws {
        var harness = try Harness(records: 3_000, delivery: .exactlyOnce)
        harness.pollMaxRecords = 200
        let service = try harness.makeService()
        let deadline = ContinuousClock.now + .seconds(30)
        var predicted = 0
        while predicted == 0 && ContinuousClock.now < deadline {
            predicted += try service.step().predictions
        }
        #expect(predicted > 0)

        // The consumer has fetched ahead, so the next batch is scored and then waits for a
        // broker that is gone, until stop() (from another thread, as a signal handler would).
        try harness.test.cluster.setBrokerDown(-1)
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(1)) { service.stop() }
        var stopped = false
        while !stopped && ContinuousClock.now < deadline {
            do {
                try service.step()
            } catch InferenceError.stopped {
                stopped = true
            }
        }
        #expect(stopped)
        try harness.test.cluster.setBrokerUp(-1)
        // Close delivers what the stopped batch had sent but commits only earlier batches.
        try service.close(timeout: .seconds(20))

        let successor = try harness.makeService()
        #expect(try harness.runUntilCaughtUp(successor))
        try successor.close()
        #expect(
            harness.log.all.contains { $0.contains("Resuming inference after predictions already delivered") }
        )
        let bySource = try harness.predictionsBySource()
        #expect(bySource.values.allSatisfy { $0.count == 1 })
        let mismatches = Set(bySource.keys).symmetricDifference(harness.input.goodPositions).count
        #expect(mismatches == 0)
    }

    @Test("a resume scan that fails on assignment holds the partitions back and retries until it succeeds")
    func failedScanHoldsPartitionsBack() throws {
        let harness = try Harness(records: 3_000, delivery: .exactlyOnce)
        var first: InferenceService? = try harness.makeService()
        first!.simulateCrash(afterBatches: 2, at: .afterDelivery)
        #expect(try harness.runUntilCrash(first!))
        first = nil

        // The scan asks the predictions partitions' leader for watermarks (ListOffsets).
        harness.test.cluster.pushRequestErrors(.listOffsets, Array(repeating: .unknownTopicOrPartition, count: 40))
        let second = try harness.makeService()
        #expect(try harness.runUntilCaughtUp(second))
        try second.close()

        #expect(harness.log.all.contains { $0.contains("holding them back until it succeeds") })
        let bySource = try harness.predictionsBySource()
        #expect(bySource.values.allSatisfy { $0.count == 1 })
        let mismatches = Set(bySource.keys).symmetricDifference(harness.input.goodPositions).count
        #expect(mismatches == 0)
    }

    @Test("the runner steps the service on its own thread and closes it on stop")
    func runnerStepsAndCloses() throws {
        let harness = try Harness(records: 3_000, delivery: .exactlyOnce)
        let service = try harness.makeService()
        let runner = InferenceRunner(service: service, logger: harness.log.logger("runner"))
        runner.start()
        let admin = try KafkaAdmin(configuration: harness.test.configuration())
        let deadline = ContinuousClock.now + .seconds(30)
        var committed: [KafkaTopicPartition: Int64] = [:]
        while committed != harness.input.highWatermarks && ContinuousClock.now < deadline {
            committed = try admin.listGroupOffsets(
                group: harness.group,
                topics: [InferenceInput.topic],
                timeout: .seconds(10)
            )
        }
        #expect(committed == harness.input.highWatermarks)
        #expect(runner.stop(timeout: .seconds(20)))
        #expect(runner.completedSteps > 0)
        #expect(throws: InferenceError.stopped) { try service.step() }

        let bySource = try harness.predictionsBySource()
        #expect(bySource.values.allSatisfy { $0.count == 1 })
        let mismatches = Set(bySource.keys).symmetricDifference(harness.input.goodPositions).count
        #expect(mismatches == 0)
    }
}
