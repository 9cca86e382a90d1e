import CRdKafka

/// Messages from one poll, held without copying until the next fill, `release()` or `deinit`.
///
/// The batch owns librdkafka's `rd_kafka_message_t` objects; each `KafkaMessage` it hands out,
/// and every key, value and header buffer of one, points into them and is valid only until the
/// batch is refilled or released. Reuse one batch across polls: filling allocates nothing per
/// message. Errors that librdkafka reports in place of messages (consumer errors, end of
/// partition) are taken out into `errors` and `partitionsAtEnd`, so every element is a record.
///
/// Not thread-safe: use it on the thread that polls.
public final class KafkaMessageBatch: RandomAccessCollection {
    /// The most messages one fill takes.
    public let capacity: Int

    /// Consumer errors that arrived instead of messages in the last fill, such as a fetch
    /// failure; librdkafka keeps retrying them, so they are for logging and counting.
    public private(set) var errors: [KafkaError] = []

    /// Partitions whose end the last fill reached (only with `enable.partition.eof=true`), with
    /// the offset of that end.
    public private(set) var partitionsAtEnd: [KafkaTopicPartitionOffset] = []

    private let messages: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    private var messageCount = 0

    // Messages refer to their client's internals, so it must outlive them.
    private var client: RDKafkaClient?

    /// A batch that holds up to `capacity` messages (at least 1).
    public init(capacity: Int) {
        precondition(capacity > 0, "a message batch needs a capacity of at least 1")
        self.capacity = capacity
        messages = .allocate(capacity: capacity)
    }

    deinit {
        release()
        messages.deallocate()
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { messageCount }

    /// The message at `position`, valid until the batch is refilled or released.
    public subscript(position: Int) -> KafkaMessage {
        precondition(
            position >= 0 && position < messageCount,
            "message index \(position) out of range"
        )
        return KafkaMessage(messages[position]!)
    }

    /// Hands every message back to librdkafka and empties the batch.
    public func release() {
        for index in 0..<messageCount {
            rd_kafka_message_destroy(messages[index])
        }
        messageCount = 0
        errors.removeAll(keepingCapacity: true)
        partitionsAtEnd.removeAll(keepingCapacity: true)
        client = nil
    }

    /// Releases the current messages, then fills the batch from `queue` (see
    /// `RDKafkaQueue.consume`). Throws if librdkafka reports a fatal error.
    func fill(from queue: RDKafkaQueue, maxMessages: Int, timeout: Duration) throws {
        release()
        client = queue.client
        let received = try queue.consume(
            into: messages,
            capacity: Swift.min(maxMessages, capacity),
            timeout: timeout
        )
        for index in 0..<received {
            let message = messages[index]!
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                messages[messageCount] = message
                messageCount += 1
                continue
            }
            defer { rd_kafka_message_destroy(message) }
            let source = message.pointee.rkt.map {
                KafkaTopicPartition(
                    topic: String(cString: rd_kafka_topic_name($0)),
                    partition: message.pointee.partition
                )
            }
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF, let source {
                partitionsAtEnd.append(
                    KafkaTopicPartitionOffset(source, offset: message.pointee.offset)
                )
                continue
            }
            let operation = source.map { "consume from \($0)" } ?? "consume"
            let reason = rd_kafka_message_errstr(message).map { String(cString: $0) }
            errors.append(
                KafkaError.rdkafka(
                    operation,
                    message.pointee.err,
                    reason: reason,
                    client: queue.client
                )
            )
        }
        if let fatal = errors.first(where: \.isFatal) { throw fatal }
    }

    /// Destroys the messages from `index` on, keeping the ones before it.
    func removeMessages(from index: Int) {
        guard index < messageCount else { return }
        for position in index..<messageCount {
            rd_kafka_message_destroy(messages[position])
        }
        messageCount = index
    }
}

/// A view of one consumed record inside a `KafkaMessageBatch`.
///
/// Reading a field copies nothing except `topic` (a `String`, which stays inline for names of
/// up to 15 UTF-8 bytes) and `headers`. Valid only while its batch holds the message.
public struct KafkaMessage {
    private let message: UnsafeMutablePointer<rd_kafka_message_t>

    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        self.message = message
    }

    public var topic: String { String(cString: rd_kafka_topic_name(message.pointee.rkt)) }

    /// The message's topic as an identity that compares without reading the name (no `String`
    /// is built): equal for two messages of one client exactly when their topics are the same.
    /// Compare identities only of messages that a batch still holds; once every message of a
    /// topic is released, librdkafka may reuse the topic object for another name.
    public var topicIdentity: KafkaTopicIdentity { KafkaTopicIdentity(message.pointee.rkt) }
    public var partition: Int32 { message.pointee.partition }
    public var offset: Int64 { message.pointee.offset }

    public var topicPartition: KafkaTopicPartition {
        KafkaTopicPartition(topic: topic, partition: partition)
    }

    /// The key's bytes, or nil for a message without a key.
    public var key: UnsafeRawBufferPointer? {
        message.pointee.key.map {
            UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len)
        }
    }

    /// The value's bytes, or nil for a null value (a tombstone).
    public var value: UnsafeRawBufferPointer? {
        message.pointee.payload.map {
            UnsafeRawBufferPointer(start: $0, count: message.pointee.len)
        }
    }

    /// The message timestamp in milliseconds since the Unix epoch, or nil when there is none.
    public var timestampMilliseconds: Int64? {
        let timestamp = rd_kafka_message_timestamp(message, nil)
        return timestamp >= 0 ? timestamp : nil
    }

    /// All headers in order, copied.
    public var headers: [KafkaHeader] {
        guard let headers = parsedHeaders else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size)
            == RD_KAFKA_RESP_ERR_NO_ERROR
        {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            result.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: bytes))
            index += 1
        }
        return result
    }

    /// The value of the last header called `name`, without copying; nil when there is no such
    /// header or its value is null.
    public func header(named name: String) -> UnsafeRawBufferPointer? {
        guard let headers = parsedHeaders else { return nil }
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR
        else {
            return nil
        }
        return value.map { UnsafeRawBufferPointer(start: $0, count: size) }
    }

    // librdkafka parses headers on first access and keeps them with the message.
    private var parsedHeaders: OpaquePointer? {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return nil
        }
        return headers
    }
}

/// Which topic a consumed message belongs to, as librdkafka's topic object identifies it; see
/// `KafkaMessage.topicIdentity` for how long an identity stays meaningful.
public struct KafkaTopicIdentity: Hashable, Sendable {
    private let address: UInt

    init(_ topic: OpaquePointer?) {
        address = UInt(bitPattern: topic)
    }
}
