import CRdKafka

/// Owns an `rd_kafka_topic_t`, which `rd_kafka_produce_batch` and the partition reader need;
/// holds its client so that the topic handle is destroyed first.
final class RDKafkaTopic: @unchecked Sendable {
    let name: String
    private let client: RDKafkaClient
    private let pointer: OpaquePointer

    init(name: String, client: RDKafkaClient) throws {
        guard let pointer = client.withHandle({ rd_kafka_topic_new($0, name, nil) }) else {
            throw KafkaError.rdkafka(
                "create topic handle for '\(name)'",
                rd_kafka_last_error(),
                client: client
            )
        }
        self.name = name
        self.client = client
        self.pointer = pointer
    }

    deinit {
        rd_kafka_topic_destroy(pointer)
    }

    func withPointer<Result>(_ body: (OpaquePointer) throws -> Result) rethrows -> Result {
        try body(pointer)
    }
}
