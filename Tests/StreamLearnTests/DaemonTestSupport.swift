import Foundation
import Kafka
import Locking
import StreamLearnCore
import Testing

/// A datagram socket standing in for systemd's NOTIFY_SOCKET, owned by a daemon test. Every
/// datagram received is kept, in order, so a test can first wait for one and later look at all.
final class DaemonNotifyListener: @unchecked Sendable {
    let directory: String
    let path: String
    private let descriptor: Int32
    private let received = Locked<[String]>([])

    init() throws {
        directory = NSTemporaryDirectory() + "streamlearn-daemon-notify-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/notify.sock"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    deinit {
        close(descriptor)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Every datagram received so far.
    var messages: [String] { received.withLock { $0 } }

    /// Receives datagrams until one satisfies `predicate` or `timeout` passes; returns it.
    @discardableResult
    func waitFor(timeout: Duration, _ predicate: (String) -> Bool) -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let remaining = deadline - ContinuousClock.now
            let milliseconds = Int32(
                max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
            )
            var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pollDescriptor, 1, milliseconds) == 1 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count >= 0 else { continue }
            let message = String(decoding: buffer[0..<count], as: UTF8.self)
            received.withLock { $0.append(message) }
            if predicate(message) { return message }
        }
        return nil
    }
}

/// A `streamlearn broker` process and helpers to feed and inspect it.
final class DaemonTestBroker {
    let process: TestProcess
    let bootstrapServers: String

    init(topics: [String: Int32]) throws {
        let arguments = ["broker"] + topics.sorted { $0.key < $1.key }.flatMap { ["--topic", "\($0.key):\($0.value)"] }
        process = try TestBinary.start(arguments)
        bootstrapServers = try process.waitForLine(timeout: .seconds(20)) { $0.hasPrefix("127.0.0.1:") }
    }

    deinit {
        process.send(SIGTERM)
        _ = process.wait(timeout: .seconds(10))
    }

    var configuration: KafkaConfiguration {
        KafkaConfiguration(["bootstrap.servers": bootstrapServers])
    }

    /// An lz4-compressing producer (the broker keeps only the newest 5 MiB per partition).
    func producer() throws -> KafkaProducer {
        var configuration = configuration
        configuration["compression.codec"] = "lz4"
        configuration["linger.ms"] = "20"
        return try KafkaProducer(configuration: configuration)
    }

    /// Produces `count` SUSY-like records (label in the key, 18 short features in the value)
    /// round-robin over `partitions` partitions of `topic`, numbered from `first`, and waits for
    /// delivery. `badEvery` > 0 makes every such record undecodable.
    static func produce(
        _ producer: KafkaProducer,
        topic: String,
        partitions: Int32,
        count: Int,
        first: Int = 0,
        badEvery: Int = 0
    ) throws {
        try produceWithoutWaiting(
            producer,
            topic: topic,
            partitions: partitions,
            count: count,
            first: first,
            badEvery: badEvery
        )
        try producer.flush(timeout: .seconds(30))
        #expect(producer.failedDeliveryCount == 0)
    }

    /// Enqueues the records of `produce` without waiting for their delivery.
    static func produceWithoutWaiting(
        _ producer: KafkaProducer,
        topic: String,
        partitions: Int32,
        count: Int,
        first: Int = 0,
        badEvery: Int = 0
    ) throws {
        for index in first..<(first + count) {
            let label = index % 2
            var value = ""
            for feature in 0..<18 {
                if feature > 0 { value += "," }
                let base = Double((index &* 7919 &+ feature &* 104_729) % 1000) / 1000
                value += String(Double(label) * 0.5 + base)
            }
            if badEvery > 0, index % badEvery == 0 { value = "not,a,number" }
            try producer.send(
                topic: topic,
                partition: Int32(index % Int(partitions)),
                key: Array(String(label).utf8),
                value: Array(value.utf8)
            )
        }
    }
}

/// Writing configurations and reading checkpoints for daemon tests.
enum DaemonTestFiles {
    /// A fresh directory under /tmp, removed by the caller.
    static func makeDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "streamlearn-daemon-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes a daemon configuration to `directory`/config.json and returns its path.
    ///
    /// Defaults: logistic regression (fast in debug builds), checkpoints in
    /// `directory`/checkpoints every second, short group timeouts so a restart after kill -9
    /// does not wait long for the dead member to expire.
    static func writeConfiguration(
        in directory: String,
        bootstrapServers: String,
        topics: [String],
        groupID: String = "daemon-test",
        model: String = #"{"type": "logistic", "optimizer": "sgd", "learning_rate": 0.05}"#,
        checkpointInterval: Double = 1,
        metricsTopic: String? = nil,
        metricsInterval: Double = 1,
        logLevel: String = "info",
        extraKafka: String = ""
    ) throws -> String {
        let topicList = topics.map { "\"\($0)\"" }.joined(separator: ", ")
        let metrics =
            metricsTopic.map { #"{"topic": "\#($0)", "interval_seconds": \#(metricsInterval)}"# }
            ?? #"{"interval_seconds": \#(metricsInterval)}"#
        let text = """
            {
              "kafka": {"bootstrap.servers": "\(bootstrapServers)", "session.timeout.ms": 4000,
                        "heartbeat.interval.ms": 400\(extraKafka)},
              "training": {"topics": [\(topicList)], "group_id": "\(groupID)",
                           "poll_max_records": 1024, "poll_timeout_ms": 200, "batch_size": 32},
              "model": \(model),
              "checkpoint": {"directory": "\(directory)/checkpoints", "interval_seconds": \(checkpointInterval), "keep": 3},
              "metrics": \(metrics),
              "instance": "daemon-test",
              "log_level": "\(logLevel)"
            }
            """
        let path = directory + "/config.json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The newest valid checkpoint in `directory`/checkpoints, or nil.
    static func newestCheckpoint(in directory: String) -> Checkpoint? {
        let store = CheckpointStore(directory: directory + "/checkpoints", keep: 100)
        return (try? store.loadNewest(expectedShape: nil, removingStaleFiles: false))??.checkpoint
    }

    /// Waits until `condition` holds for the newest checkpoint, re-reading it every 50 ms.
    static func waitForCheckpoint(
        in directory: String,
        timeout: Duration,
        _ condition: (Checkpoint) -> Bool
    ) -> Checkpoint? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let checkpoint = newestCheckpoint(in: directory), condition(checkpoint) { return checkpoint }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    /// Records trained per partition, from a checkpoint's metadata ("trained/TOPIC/PARTITION").
    static func trainedCounts(_ checkpoint: Checkpoint) -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for (key, value) in checkpoint.metadata {
            let parts = key.split(separator: "/")
            guard parts.count == 3, parts[0] == "trained", let partition = Int32(parts[2]), let count = Int64(value)
            else { continue }
            result[TopicPartition(topic: String(parts[1]), partition: partition)] = count
        }
        return result
    }
}

extension TestBinary.Output {
    /// True when a sanitizer (thread sanitizer under `swift test --sanitize=thread`) reported.
    var hasSanitizerReport: Bool {
        standardError.contains("WARNING: ThreadSanitizer") || standardError.contains("ERROR: AddressSanitizer")
    }
}
