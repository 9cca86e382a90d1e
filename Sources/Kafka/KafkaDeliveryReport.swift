/// The outcome of one produced message, as its delivery report tells it.
public struct KafkaDeliveryReport: Sendable {
    /// The topic the message was produced to.
    public let topic: String

    /// The partition the message went to; -1 when it failed before a partition was chosen.
    public let partition: Int32

    /// The offset the broker assigned, or nil when it is unknown (failed deliveries, and
    /// idempotent retries where librdkafka cannot tell).
    public let offset: Int64?

    /// Why the message was not delivered, or nil when it was.
    public let error: KafkaError?

    /// The tag the caller gave to `send`, for matching reports to messages without a lookup.
    public let tag: UInt
}

/// Receives delivery reports, on the thread that calls `poll`, `flush` or `send` of the
/// producer (librdkafka serves reports only there). It must not call `poll` or `flush`.
public typealias KafkaDeliveryHandler = @Sendable (KafkaDeliveryReport) -> Void
