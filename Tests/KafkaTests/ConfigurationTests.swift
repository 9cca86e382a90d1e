import Kafka
import Testing

@Suite("Kafka configuration and errors")
struct ConfigurationTests {
    @Test("validation asks librdkafka and names each refused property")
    func validateNamesRefusedProperties() {
        let configuration = KafkaConfiguration([
            "bootstrap.servers": "127.0.0.1:9092",
            "no.such.property": "1",
            "acks": "sometimes",
            "compression.codec": "lz4",
        ])
        let problems = configuration.validate()
        #expect(problems.count == 2)
        guard problems.count == 2 else { return }
        #expect(
            problems[0]
                == .invalidProperty(
                    name: "no.such.property",
                    reason: "No such configuration property: \"no.such.property\""
                )
        )
        guard case .invalidProperty(let name, let reason) = problems[1] else {
            Issue.record("expected an invalid property, got \(problems[1])")
            return
        }
        // librdkafka 2.0.2 names the canonical property ("request.required.acks" for "acks");
        // the error keeps the key the operator wrote.
        #expect(name == "acks")
        #expect(reason == "Invalid value for configuration property \"request.required.acks\"")
        #expect(
            "\(problems[0])"
                == "Failed to set Kafka property 'no.such.property': No such configuration property: \"no.such.property\""
        )
        #expect(KafkaConfiguration(["linger.ms": "5"]).validate().isEmpty)
    }

    @Test("setting a property replaces it in place, and nil removes it")
    func subscriptKeepsOrder() {
        var configuration = KafkaConfiguration(["a.b": "1", "c.d": "2"])
        configuration["a.b"] = "3"
        configuration["e.f"] = "4"
        configuration["c.d"] = nil
        #expect(configuration.properties.map(\.key) == ["a.b", "e.f"])
        #expect(configuration["a.b"] == "3")
        #expect(configuration.contains("e.f"))
    }

    @Test("a client with a refused property is not created, and the error names the property")
    func clientCreationFailsOnBadProperty() {
        #expect {
            _ = try KafkaProducer(configuration: KafkaConfiguration(["linger.ms": "soon"]))
        } throws: { error in
            guard case .invalidProperty(let name, _) = error as? KafkaError else { return false }
            return name == "linger.ms"
        }
        #expect {
            _ = try KafkaConsumer(
                configuration: KafkaConfiguration(["bootstrap.servers": "127.0.0.1:1"])
            )
        } throws: { error in
            "\(error)"
                == "Failed to set Kafka property 'group.id': a group consumer needs a group id"
        }
    }

    @Test("a combination librdkafka refuses fails with its reason")
    func clientCreationFailsOnConflict() {
        #expect {
            _ = try KafkaProducer(
                configuration: KafkaConfiguration(["enable.idempotence": "true", "acks": "1"])
            )
        } throws: { error in
            guard let error = error as? KafkaError,
                case .failed(let operation, _, let reason, _, _, _) = error
            else {
                return false
            }
            return operation == "create Kafka producer" && reason.contains("acks")
        }
    }

    @Test("error descriptions keep librdkafka's name and say fatal or retriable")
    func errorDescriptions() {
        let notLeader = KafkaError.failed(
            operation: "produce to 'susy-train'[1]",
            code: .notLeaderForPartition,
            reason: KafkaError.Code.notLeaderForPartition.text,
            isFatal: false,
            isRetriable: true,
            brokerError: nil
        )
        #expect(
            "\(notLeader)"
                == "Failed to produce to 'susy-train'[1]: Broker: Not leader for partition (NOT_LEADER_FOR_PARTITION, retriable)"
        )
        #expect(notLeader.code.rawValue == 6)
        #expect(notLeader.name == "NOT_LEADER_FOR_PARTITION")
        #expect(KafkaError.Code.transport.name == "_TRANSPORT")
        #expect(KafkaError.undelivered(count: 1, timeout: .seconds(5)).isBrokerUnavailable)
        #expect(!KafkaError.invalidProperty(name: "x", reason: "y").isRetriable)
    }
}
