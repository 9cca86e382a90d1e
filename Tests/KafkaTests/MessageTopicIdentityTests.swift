import Kafka
import Testing

@Suite("Topic identity of consumed messages")
struct MessageTopicIdentityTests {
    @Test("messages of one topic share an identity and messages of another topic do not")
    func identityFollowsTopic() throws {
        let test = try TestCluster(topics: ["alpha": 2, "beta-with-a-long-topic-name": 1])
        try test.produce(topic: "alpha", partition: 0, count: 3)
        try test.produce(topic: "alpha", partition: 1, count: 3)
        try test.produce(topic: "beta-with-a-long-topic-name", partition: 0, count: 3)
        let consumer = try KafkaConsumer(
            configuration: test.configuration(ConsumerGroupTests.groupSettings("identity")),
            logHandler: test.log.handler
        )
        try consumer.subscribe(to: ["alpha", "beta-with-a-long-topic-name"])

        // Identities are compared only while batches hold the messages, as the contract asks:
        // each poll gets a batch of its own, and every batch is kept until the end.
        var batches: [KafkaMessageBatch] = []
        var seen: [(topic: String, identity: KafkaTopicIdentity)] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while seen.count < 9, ContinuousClock.now < deadline {
            let batch = try consumer.poll(maxMessages: 100, timeout: .milliseconds(100))
            batches.append(batch)
            seen += batch.map { ($0.topic, $0.topicIdentity) }
        }
        #expect(seen.count == 9)
        for first in seen {
            for second in seen {
                #expect((first.identity == second.identity) == (first.topic == second.topic))
            }
        }
        batches.removeAll()
        try consumer.close()
    }
}
