import CRdKafka

/// Owns a queue that messages are consumed from: a group consumer's queue, or a queue that one
/// partition is fetched into without a group (librdkafka's legacy consumer API, which needs no
/// `group.id`).
///
/// Holds the client (and topic) strongly, so the queue is destroyed before the handle.
final class RDKafkaQueue: @unchecked Sendable {
    let client: RDKafkaClient
    private let queue: OpaquePointer
    private let fetched: (topic: RDKafkaTopic, partition: Int32)?

    /// The consumer queue, after routing the client's main queue (errors, logs of the group)
    /// into it with `rd_kafka_poll_set_consumer`, so one poll serves everything.
    init(consumerQueueOf client: RDKafkaClient) throws {
        let error = client.withHandle { rd_kafka_poll_set_consumer($0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka("route events to the consumer queue", error, client: client)
        }
        guard let queue = client.withHandle({ rd_kafka_queue_get_consumer($0) }) else {
            throw KafkaError.rdkafka(
                "get the consumer queue",
                RD_KAFKA_RESP_ERR__STATE,
                client: client
            )
        }
        self.client = client
        self.queue = queue
        fetched = nil
    }

    /// A new queue that `partition` of `topic` is fetched into, from `offset`.
    init(
        fetching partition: Int32,
        of topic: RDKafkaTopic,
        from offset: Int64,
        client: RDKafkaClient
    ) throws {
        let queue = client.withHandle { rd_kafka_queue_new($0)! }
        let started = topic.withPointer {
            rd_kafka_consume_start_queue($0, partition, offset, queue)
        }
        guard started == 0 else {
            rd_kafka_queue_destroy(queue)
            let operation =
                "start fetching \(KafkaTopicPartition(topic: topic.name, partition: partition))"
            throw KafkaError.rdkafka(operation, rd_kafka_last_error(), client: client)
        }
        self.client = client
        self.queue = queue
        fetched = (topic, partition)
    }

    deinit {
        if let fetched {
            _ = fetched.topic.withPointer { rd_kafka_consume_stop($0, fetched.partition) }
        }
        rd_kafka_queue_destroy(queue)
    }

    /// Events waiting in the queue (messages, errors, rebalances), including those of queues
    /// forwarded into it.
    var length: Int { rd_kafka_queue_length(queue) }

    /// Waits up to `timeout` for the first message, then takes what is already fetched, up to
    /// `capacity` in all. Rebalance and error callbacks run inside, on the calling thread.
    ///
    /// Returns how many message pointers were written to `messages`; the caller owns them.
    func consume(
        into messages: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>,
        capacity: Int,
        timeout: Duration
    ) throws -> Int {
        var received = rd_kafka_consume_batch_queue(queue, timeout.milliseconds, messages, 1)
        if received == 1 && capacity > 1 {
            let more = rd_kafka_consume_batch_queue(queue, 0, messages + 1, capacity - 1)
            received = more < 0 ? received : received + more
        }
        guard received >= 0 else {
            throw KafkaError.rdkafka("consume messages", rd_kafka_last_error(), client: client)
        }
        return received
    }
}
