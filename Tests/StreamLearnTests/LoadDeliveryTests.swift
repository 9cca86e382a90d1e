import Foundation
import Kafka
import StreamLearnCore
import Testing

@testable import StreamLearn

/// `load` run in this process against a mock cluster whose Produce requests fail, which a
/// broker process cannot be made to do.
@Suite("streamlearn load delivery failures")
struct LoadDeliveryTests {
    @Test("a delivery that fails for good fails the load, naming the broker and the error")
    func failedDeliveryFailsLoad() throws {
        let cluster = try MockCluster()
        try cluster.createTopic("rows", partitions: 1)
        let directory = try TestDirectory("delivery")
        let rows = (0..<20).map { "\($0 % 2),\($0).5,2.25,-3" }.joined(separator: "\n") + "\n"
        let file = try directory.write("rows.csv", rows)
        // Not retriable: librdkafka fails the messages at once instead of retrying them.
        let denied = KafkaError.Code(rawValue: 29)  // TOPIC_AUTHORIZATION_FAILED
        cluster.pushRequestErrors(.produce, Array(repeating: denied, count: 50))

        let arguments = ["load", "--file", file, "--topic", "rows", "-b", cluster.bootstrapServers]
        var failure: CommandError?
        do {
            _ = try StreamLearnCLI.dispatch(arguments)
        } catch let error as CommandError {
            failure = error
        }

        #expect(failure?.exitCode == .failure)
        #expect(
            failure?.message.contains("not delivered to '\(cluster.bootstrapServers)'") == true,
            "\(String(describing: failure))"
        )
        #expect(failure?.message.contains("TOPIC_AUTHORIZATION_FAILED") == true, "\(String(describing: failure))")
    }
}
