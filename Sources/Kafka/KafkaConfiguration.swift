import CRdKafka

/// An ordered list of librdkafka properties (CONFIGURATION.md), passed through unchanged.
///
/// Order matters to librdkafka only for properties that overlap (such as `acks` and
/// `request.required.acks`); the last one set wins, as with repeated `-X` flags in kcat.
/// Values are kept as given; this type never logs them, because some (`sasl.password`) are
/// secrets.
public struct KafkaConfiguration: Sendable, Hashable {
    /// One `key=value` property.
    public struct Property: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The properties in the order they are applied.
    public private(set) var properties: [Property]

    public init(_ properties: [Property] = []) {
        self.properties = properties
    }

    /// Builds a configuration from `key: value` pairs, in order.
    public init(_ pairs: KeyValuePairs<String, String>) {
        self.properties = pairs.map { Property(key: $0.key, value: $0.value) }
    }

    /// The value of `key`, or nil if it is not set. Setting replaces the value in place (keeping
    /// the property's position) or appends it; setting nil removes it.
    public subscript(key: String) -> String? {
        get { properties.last(where: { $0.key == key })?.value }
        set {
            guard let newValue else {
                properties.removeAll(where: { $0.key == key })
                return
            }
            if let index = properties.lastIndex(where: { $0.key == key }) {
                properties[index].value = newValue
            } else {
                properties.append(Property(key: key, value: newValue))
            }
        }
    }

    /// True when `key` is set.
    public func contains(_ key: String) -> Bool {
        properties.contains(where: { $0.key == key })
    }

    /// Asks librdkafka whether each property is valid, by setting it on a scratch configuration.
    ///
    /// Returns one `KafkaError.invalidProperty` per refused property, in order, with librdkafka's
    /// own text ("No such configuration property", "Invalid value ... for configuration property
    /// ..."); an empty array means every property was accepted. Checks that involve several
    /// properties at once happen only when a client is created.
    public func validate() -> [KafkaError] {
        guard let conf = rd_kafka_conf_new() else { return [] }
        defer { rd_kafka_conf_destroy(conf) }
        return properties.compactMap { property in
            RDKafkaConfig.set(property.key, property.value, on: conf)
        }
    }

    /// Returns a copy with `defaults` added for every key the caller did not set.
    func withDefaults(_ defaults: KeyValuePairs<String, String>) -> KafkaConfiguration {
        var result = KafkaConfiguration(
            defaults.filter { !contains($0.key) }.map {
                Property(key: $0.key, value: $0.value)
            }
        )
        result.properties.append(contentsOf: properties)
        return result
    }
}
