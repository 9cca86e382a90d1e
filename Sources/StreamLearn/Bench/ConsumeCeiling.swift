import Foundation
import Kafka
import StreamLearnCore

/// The ceiling for the pipeline: how fast librdkafka alone hands over the same records, with a
/// group consumer polling batches of `pollMaxRecords` as the daemon does, and nothing else done
/// with them (no decoding, no training).
enum ConsumeCeiling {
    /// How long the consumer may go without a record before the measurement fails.
    static let stallTimeout: Duration = .seconds(30)

    /// Consumes `recordCount` records of `topic` from the beginning as group `groupID`.
    ///
    /// The clock starts when the first batch arrives (the group join before it, about 3 s on the
    /// embedded broker, is not throughput) and stops at the last record.
    static func measure(
        topic: String,
        recordCount: Int,
        groupID: String,
        pollMaxRecords: Int,
        bootstrapServers: String,
        logHandler: @escaping KafkaLogHandler,
        commandName: String
    ) throws -> PipelineMeasurement {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration([
                "bootstrap.servers": bootstrapServers,
                "group.id": groupID,
                "auto.offset.reset": "earliest",
            ]),
            logHandler: logHandler
        )
        defer { try? consumer.close() }
        try consumer.subscribe(to: [topic])
        let batch = KafkaMessageBatch(capacity: pollMaxRecords)

        var consumed = 0
        var valueBytes = 0
        var clock: PipelineClock?
        var lastProgress = ContinuousClock.now
        while consumed < recordCount {
            try consumer.poll(into: batch, maxMessages: pollMaxRecords, timeout: .milliseconds(100))
            guard !batch.isEmpty else {
                if ContinuousClock.now - lastProgress > stallTimeout {
                    throw CommandError(
                        .failure,
                        "\(commandName): the consumer received \(consumed) of \(recordCount) records of '\(topic)' "
                            + "and then nothing for \(stallTimeout)"
                    )
                }
                continue
            }
            lastProgress = .now
            for message in batch { valueBytes &+= message.value?.count ?? 0 }
            consumed += batch.count
            if clock == nil { clock = PipelineClock(startCount: consumed) }
        }
        batch.release()
        guard let clock else { preconditionFailure("records were consumed, so the clock started") }
        return clock.finish(
            benchmark: "consume",
            model: "none",
            batch: pollMaxRecords,
            endCount: consumed,
            recordCount: recordCount
        )
    }
}
