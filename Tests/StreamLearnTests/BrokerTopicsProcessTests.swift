import Foundation
import Kafka
import Testing

@Suite("streamlearn broker and topics (process)")
struct BrokerTopicsProcessTests {
    @Test("broker prints its address first, writes --bootstrap-file, and stops cleanly on SIGTERM")
    func brokerAnnouncesAddress() throws {
        let directory = try TestDirectory("broker")
        let bootstrapFile = directory.path + "/bootstrap"
        let broker = try TestBrokerProcess(topics: ["events": 3], extraArguments: ["--bootstrap-file", bootstrapFile])

        let fileContents = try String(contentsOfFile: bootstrapFile, encoding: .utf8)
        let admin = try KafkaAdmin(configuration: broker.configuration)
        let topics = try admin.describeTopics(["events"], timeout: .seconds(10))
        let output = broker.stop()

        #expect(broker.bootstrapServers.hasPrefix("127.0.0.1:"))
        #expect(output.lines.first == broker.bootstrapServers)
        #expect(fileContents == broker.bootstrapServers + "\n")
        #expect(topics.first?.partitions.count == 3)
        #expect(output.status == 0)
        #expect(output.standardError.contains("5 MiB"), "stderr: \(output.standardError)")
        #expect(!FileManager.default.fileExists(atPath: bootstrapFile))
    }

    @Test("broker --help states the embedded broker's limits")
    func brokerHelpStatesLimits() throws {
        let help = try TestBinary.run(["broker", "--help"])

        #expect(help.status == 0)
        #expect(help.standardOutput.contains("5 MiB") && help.standardOutput.contains("100,000 message sets"))
        #expect(help.standardOutput.contains("3 s"))
        #expect(help.standardOutput.contains("memory only"))
    }

    @Test("topics create against the embedded broker fails and says how to create topics there")
    func topicsCreateExplainsEmbeddedBroker() throws {
        let broker = try TestBrokerProcess()

        let result = try TestBinary.run([
            "topics", "create", "susy-train", "--partitions", "2", "-b", broker.bootstrapServers,
        ])

        #expect(result.status == 1)
        #expect(result.standardError.contains("Failed to create topic 'susy-train'"), "\(result.standardError)")
        #expect(result.standardError.contains("streamlearn broker --topic susy-train:2"))
    }

    @Test("topics describe prints partitions and watermarks after a load")
    func topicsDescribeShowsWatermarks() throws {
        let broker = try TestBrokerProcess(topics: ["rows": 2, "other": 1])
        let directory = try TestDirectory("describe")
        let rows = try TestBinary.run(["generate", "--rows", "10"]).standardOutput
        let file = try directory.write("rows.csv", rows)
        let load = try TestBinary.run(["load", "--file", file, "--topic", "rows", "-b", broker.bootstrapServers])
        #expect(load.status == 0, "stderr: \(load.standardError)")

        let described = try TestBinary.run(["topics", "describe", "rows", "-b", broker.bootstrapServers])
        let everything = try TestBinary.run(["topics", "describe", "-b", broker.bootstrapServers])
        let missing = try TestBinary.run(["topics", "describe", "absent", "-b", broker.bootstrapServers])

        #expect(described.status == 0, "stderr: \(described.standardError)")
        let table = described.lines.map { $0.split(separator: " ").map(String.init) }
        #expect(table.first == ["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "LOW", "HIGH", "RECORDS"])
        #expect(
            table.dropFirst().map { [$0[0], $0[1], $0[5], $0[6], $0[7]] } == [
                ["rows", "0", "0", "5", "5"], ["rows", "1", "0", "5", "5"],
            ]
        )
        #expect(everything.lines.contains { $0.hasPrefix("other ") })
        #expect(missing.status == 1 && missing.standardError.contains("'absent'"))
    }
}
