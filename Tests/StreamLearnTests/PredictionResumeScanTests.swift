import Kafka
import Testing

@testable import StreamLearn

@Suite("Prediction resume scan against the mock cluster")
struct PredictionResumeScanTests {
    /// Writes predictions of `inputs` (input partition -> offsets, in order) interleaved
    /// round-robin, each to its mapped partition, with streamlearn's source headers.
    static func writePredictions(
        _ test: InferenceCluster,
        partitioner: PredictionPartitioner,
        inputs: [(partition: Int32, offsets: Range<Int64>)],
        extra: [(partition: Int32, headers: [KafkaHeader])] = []
    ) throws {
        let producer = try KafkaProducer(configuration: test.configuration(["linger.ms": "5"]))
        let longest = inputs.map(\.offsets.count).max() ?? 0
        for step in 0..<longest {
            for input in inputs where step < input.offsets.count {
                let offset = input.offsets.lowerBound + Int64(step)
                try producer.send(
                    topic: "predictions",
                    partition: partitioner.predictionPartition(forInput: input.partition),
                    key: Array(utf8Text: "k"),
                    value: Array(utf8Text: "{}"),
                    headers: [
                        KafkaHeader(name: RecordHeaderName.sourceTopic, text: "in"),
                        KafkaHeader(name: RecordHeaderName.sourcePartition, text: String(input.partition)),
                        KafkaHeader(name: RecordHeaderName.sourceOffset, text: String(offset)),
                    ]
                )
            }
        }
        for record in extra {
            try producer.send(
                topic: "predictions",
                partition: record.partition,
                key: nil,
                value: Array(utf8Text: "{}"),
                headers: record.headers
            )
        }
        try producer.flush(timeout: .seconds(10))
    }

    static func scan(
        _ test: InferenceCluster,
        partitioner: PredictionPartitioner,
        inputs: [Int32],
        settled: [Int32: Int64],
        maximumRecords: Int64 = 1_000_000
    ) throws -> PredictionResumeScan.Result {
        let scan = PredictionResumeScan(
            configuration: test.configuration(),
            predictionsTopic: "predictions",
            partitioner: partitioner,
            initialWindow: 64,
            maximumRecords: maximumRecords,
            timeout: .seconds(20)
        )
        let producer = try KafkaProducer(configuration: test.configuration())
        return try scan.lastPredictedOffsets(
            for: inputs.map { KafkaTopicPartition(topic: "in", partition: $0) },
            settledOffsets: Dictionary(
                uniqueKeysWithValues: settled.map { (KafkaTopicPartition(topic: "in", partition: $0.key), $0.value) }
            ),
            watermarks: { try producer.queryWatermarks(topic: $0, partition: $1, timeout: .seconds(10)) }
        )
    }

    @Test("input partitions map to predictions partition p mod N, whatever the topic")
    func partitionMapping() {
        let fewer = PredictionPartitioner(partitionCount: 2)
        #expect((0..<5).map { fewer.predictionPartition(forInput: $0) } == [0, 1, 0, 1, 0])
        let more = PredictionPartitioner(partitionCount: 8)
        #expect((0..<5).map { more.predictionPartition(forInput: $0) } == [0, 1, 2, 3, 4])
        let grouped = fewer.group([
            KafkaTopicPartition(topic: "a", partition: 0), KafkaTopicPartition(topic: "b", partition: 2),
            KafkaTopicPartition(topic: "a", partition: 1),
        ])
        #expect(grouped[0]?.count == 2 && grouped[1]?.count == 1)
    }

    @Test("the scan finds the uncommitted tail of each input partition and stops soon after its committed offset")
    func findsTailAndStops() throws {
        let test = try InferenceCluster(topics: ["predictions": 2])
        let partitioner = PredictionPartitioner(partitionCount: 2)
        // Input partitions 0 and 2 share predictions partition 0; 1 and 3 share partition 1.
        try Self.writePredictions(
            test,
            partitioner: partitioner,
            inputs: [(0, 0..<2000), (1, 0..<1500), (2, 0..<2000), (3, 100..<1100)]
        )
        let result = try Self.scan(
            test,
            partitioner: partitioner,
            inputs: [0, 1, 2, 3],
            settled: [0: 1900, 1: 1480, 2: 1990, 3: 1000]
        )
        #expect(result.lastPredictedOffsets[KafkaTopicPartition(topic: "in", partition: 0)] == 1999)
        #expect(result.lastPredictedOffsets[KafkaTopicPartition(topic: "in", partition: 1)] == 1499)
        #expect(result.lastPredictedOffsets[KafkaTopicPartition(topic: "in", partition: 2)] == 1999)
        #expect(result.lastPredictedOffsets[KafkaTopicPartition(topic: "in", partition: 3)] == 1099)
        #expect(!result.isTruncated)
        // Bounded by the uncommitted tail, not the partition (4000 and 2500 predictions): in
        // partition 0, input 0's offset 1899 is 202 records from the end, so windows of 64, 128
        // and 256 records are read; in partition 1, input 3's offset 999 is 702 from the end
        // (500 predictions of input 1 alone came after it), so 64 + 128 + 256 + 512.
        #expect(result.recordsRead == 448 + 960)
    }

    @Test("without a committed offset the scan reads back to the low watermark")
    func readsEverythingWithoutCommit() throws {
        let test = try InferenceCluster(topics: ["predictions": 1])
        let partitioner = PredictionPartitioner(partitionCount: 1)
        try Self.writePredictions(test, partitioner: partitioner, inputs: [(0, 0..<700), (1, 0..<300)])
        let result = try Self.scan(test, partitioner: partitioner, inputs: [1], settled: [:])
        #expect(result.recordsRead == 1000)
        #expect(result.lastPredictedOffsets == [KafkaTopicPartition(topic: "in", partition: 1): 299])
    }

    @Test("messages without source headers or of other partitions are ignored, and an empty topic finds nothing")
    func ignoresForeignMessages() throws {
        let test = try InferenceCluster(topics: ["predictions": 2])
        let partitioner = PredictionPartitioner(partitionCount: 2)
        try Self.writePredictions(
            test,
            partitioner: partitioner,
            inputs: [(0, 0..<50)],
            extra: [
                (0, []),
                (0, [KafkaHeader(name: RecordHeaderName.sourceTopic, text: "in")]),
                (
                    0,
                    [
                        KafkaHeader(name: RecordHeaderName.sourceTopic, text: "other"),
                        KafkaHeader(name: RecordHeaderName.sourcePartition, text: "0"),
                        KafkaHeader(name: RecordHeaderName.sourceOffset, text: "999"),
                    ]
                ),
            ]
        )
        let result = try Self.scan(test, partitioner: partitioner, inputs: [0, 1], settled: [0: 10])
        #expect(result.lastPredictedOffsets == [KafkaTopicPartition(topic: "in", partition: 0): 49])
    }

    @Test("a scan that reaches its record limit says so and reports what it found")
    func truncatedScan() throws {
        let test = try InferenceCluster(topics: ["predictions": 1])
        let partitioner = PredictionPartitioner(partitionCount: 1)
        try Self.writePredictions(test, partitioner: partitioner, inputs: [(0, 0..<500)])
        let result = try Self.scan(test, partitioner: partitioner, inputs: [0], settled: [:], maximumRecords: 100)
        #expect(result.isTruncated)
        #expect(result.recordsRead == 100)
        #expect(result.lastPredictedOffsets == [KafkaTopicPartition(topic: "in", partition: 0): 499])
    }
}
