import Foundation
import Kafka
import Testing

/// A `streamlearn broker` process for process tests: started with its topics, its bootstrap
/// address read from the first line of its standard output, stopped with SIGTERM.
///
/// Also reads back what commands wrote, through the Kafka layer (no group, nothing committed).
final class TestBrokerProcess {
    let process: TestProcess
    let bootstrapServers: String

    /// Starts `streamlearn broker --topic NAME:PARTITIONS...` and waits for its address.
    init(topics: [String: Int] = [:], extraArguments: [String] = []) throws {
        var arguments = ["broker"]
        for (name, partitions) in topics.sorted(by: { $0.key < $1.key }) {
            arguments += ["--topic", "\(name):\(partitions)"]
        }
        process = try TestBinary.start(arguments + extraArguments)
        bootstrapServers = try process.waitForLine(timeout: .seconds(30)) { !$0.isEmpty }
    }

    deinit {
        process.send(SIGKILL)
    }

    /// Sends SIGTERM and waits for the broker to exit.
    @discardableResult
    func stop() -> TestBinary.Output {
        process.send(SIGTERM)
        return process.wait(timeout: .seconds(30))
    }

    /// Client settings for this broker.
    var configuration: KafkaConfiguration {
        KafkaConfiguration(["bootstrap.servers": bootstrapServers])
    }

    /// The low and high watermarks of `topic`[`partition`].
    func watermarks(_ topic: String, _ partition: Int32) throws -> KafkaWatermarks {
        let admin = try KafkaAdmin(configuration: configuration)
        let described = try admin.describeTopics([topic], timeout: .seconds(10))
        let found = described.first?.partitions.first { $0.partition == partition }
        guard let watermarks = found?.watermarks else {
            throw TestBinary.Failure(description: "no watermarks for '\(topic)'[\(partition)]")
        }
        return watermarks
    }

    /// Every record of `topic`[`partition`] from offset 0 to the high watermark, as text.
    func records(_ topic: String, _ partition: Int32) throws -> [(key: String?, value: String?)] {
        let end = try watermarks(topic, partition).high
        let reader = try KafkaPartitionReader(
            configuration: configuration,
            topic: topic,
            partition: partition,
            startOffset: KafkaOffset.beginning,
            endOffset: end
        )
        let batch = KafkaMessageBatch(capacity: 1024)
        var records: [(key: String?, value: String?)] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while records.count < Int(end), !reader.isFinished, ContinuousClock.now < deadline {
            try reader.read(into: batch, timeout: .milliseconds(500))
            for message in batch {
                records.append(
                    (
                        message.key.map { String(decoding: $0, as: UTF8.self) },
                        message.value.map { String(decoding: $0, as: UTF8.self) }
                    )
                )
            }
            batch.release()
        }
        return records
    }
}

/// A directory under the system's temporary directory, removed when the value goes away.
final class TestDirectory {
    let path: String

    init(_ prefix: String) throws {
        path = NSTemporaryDirectory() + "streamlearn-\(prefix)-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `text` to a file in the directory and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Writes `data` to a file in the directory and returns its path.
    func write(_ name: String, _ data: Data) throws -> String {
        let file = path + "/" + name
        try data.write(to: URL(fileURLWithPath: file))
        return file
    }
}
