/// A message header: a name and an optional byte value (Kafka allows null header values).
public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    /// A header whose value is `text` in UTF-8.
    public init(name: String, text: String) {
        self.init(name: name, value: Array(text.utf8))
    }
}
