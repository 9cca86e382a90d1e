import Foundation
import Kafka
import StreamLearnCore
import Testing

/// `streamlearn run` when its checkpoint directory's filesystem is full (issue 6): the daemon
/// keeps training, says so in its log and metrics, commits no offset beyond the newest durable
/// checkpoint, and checkpoints again by itself once space returns.
///
/// The checkpoint directory is a small tmpfs mounted for the test (so the test needs root, as
/// in CI); a filler file takes all its free space.
@Suite("Daemon with a full checkpoint disk")
struct DaemonDiskFullTests {
    static let topic = "full-train"
    static let metricsTopic = "full-metrics"
    static let partitions: Int32 = 3
    static let chunk = 3000
    static let group = "disk-full"

    @Test(
        "ENOSPC: training goes on, the error is logged and counted, commits stay at the durable checkpoint, and checkpointing resumes when space returns",
        .enabled(if: TmpfsMount.isPermitted, TmpfsMount.refusal)
    )
    func fullCheckpointDisk() throws {
        let setup = try DiskFullSetup()
        let daemon = try TestBinary.start(["run", "--config", setup.config])
        let durable = try setup.learnFirstChunkThenFillDisk(daemon)

        // The operator sees the failure in the log: ERR, naming the file and the reason.
        let failureLine = try daemon.waitForLine(onStandardError: true, timeout: .seconds(20)) {
            $0.contains("Failed to write checkpoint")
        }
        #expect(failureLine.hasPrefix("<3>"), "\(failureLine)")
        #expect(failureLine.contains("'" + setup.checkpoints + "/checkpoint-"), "\(failureLine)")
        #expect(failureLine.contains("No space left on device"), "\(failureLine)")

        // ...and in the metrics: training went on through the second chunk while checkpoints
        // kept failing (three failures after it is all trained: commits had their chances).
        var failuresWhenTrained: Int64?
        let trainedWhileFull = setup.metrics.waitFor(timeout: .seconds(20)) { document in
            guard Self.recordsTrained(document) == Int64(2 * Self.chunk) else { return false }
            let failures = Self.checkpointFailures(document) ?? 0
            if failuresWhenTrained == nil { failuresWhenTrained = failures }
            return failures >= (failuresWhenTrained ?? 0) + 3
        }
        let whileFull = try #require(
            trainedWhileFull,
            "metrics: \(setup.metrics.latest ?? [:]); \(daemon.standardError)"
        )
        #expect((Self.checkpointFailures(whileFull) ?? 0) > 0)
        #expect(Self.checkpointSequence(whileFull) == durable.sequence)

        // Nothing newer became durable, no temporary file was left behind, and the group's
        // committed offsets are at most those of the newest checkpoint on disk.
        try setup.expectNothingBeyond(durable)

        // Space returns: a checkpoint of everything appears by itself, and commits catch up.
        try setup.freeDisk()
        let recovered = DaemonTestFiles.waitForCheckpoint(in: setup.directory, timeout: .seconds(10)) {
            $0.sequence > durable.sequence && $0.metadata["records_trained"] == String(2 * Self.chunk)
        }
        #expect(recovered?.offsets == Self.offsets(2 * Self.chunk), "\(daemon.standardError)")
        var committedAfter: [TopicPartition: Int64] = [:]
        let caughtUp = Self.waitUntil(timeout: .seconds(10)) {
            committedAfter = (try? setup.committedOffsets()) ?? [:]
            return committedAfter == Self.offsets(2 * Self.chunk)
        }
        #expect(caughtUp, "committed \(committedAfter)")
        let afterRecovery = setup.metrics.waitFor(timeout: .seconds(10)) {
            (Self.checkpointSequence($0) ?? 0) > durable.sequence
        }
        #expect(afterRecovery != nil, "metrics: \(setup.metrics.latest ?? [:])")

        // A graceful stop; the final checkpoint holds every record, each once.
        daemon.send(SIGTERM)
        let output = daemon.wait(timeout: .seconds(30))
        #expect(output.status == 0, "\(output.standardError)")
        #expect(!output.hasSanitizerReport, "\(output.standardError)")
        try setup.expectEveryRecordOnce()
    }

    @Test(
        "a stop while the disk is full commits nothing beyond the durable checkpoint; a restart with space learns each record once",
        .enabled(if: TmpfsMount.isPermitted, TmpfsMount.refusal)
    )
    func stopWhileFull() throws {
        let setup = try DiskFullSetup()
        let daemon = try TestBinary.start(["run", "--config", setup.config])
        let durable = try setup.learnFirstChunkThenFillDisk(daemon)
        let trained = setup.metrics.waitFor(timeout: .seconds(20)) {
            Self.recordsTrained($0) == Int64(2 * Self.chunk) && (Self.checkpointFailures($0) ?? 0) > 0
        }
        #expect(trained != nil, "metrics: \(setup.metrics.latest ?? [:]); \(daemon.standardError)")

        // The final checkpoint cannot be written: the stop says so and commits nothing newer.
        daemon.send(SIGTERM)
        let stopped = daemon.wait(timeout: .seconds(30))
        #expect(!stopped.timedOut, "\(stopped.standardError)")
        #expect(!stopped.hasSanitizerReport, "\(stopped.standardError)")
        let afterStop = stopped.standardError.components(separatedBy: "Stopping: writing the final checkpoint")
        #expect(afterStop.count == 2, "\(stopped.standardError)")
        #expect(
            afterStop.last?.contains("No space left on device") == true,
            "no failure of the final checkpoint in: \(stopped.standardError)"
        )
        try setup.expectNothingBeyond(durable)

        // With space again, a new run resumes at the durable checkpoint and learns the second
        // chunk once.
        try setup.freeDisk()
        let restarted = try TestBinary.start(["run", "--config", setup.config])
        let caughtUp = DaemonTestFiles.waitForCheckpoint(in: setup.directory, timeout: .seconds(20)) {
            $0.metadata["records_trained"] == String(2 * Self.chunk)
        }
        #expect(caughtUp != nil, "\(restarted.standardError)")
        restarted.send(SIGTERM)
        let output = restarted.wait(timeout: .seconds(30))
        #expect(output.status == 0, "\(output.standardError)")
        #expect(!output.hasSanitizerReport, "\(output.standardError)")
        try setup.expectEveryRecordOnce()
    }

    // MARK: - Helpers

    /// The next offset of every partition after `count` records produced round-robin.
    static func offsets(_ count: Int) -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for partition in 0..<partitions {
            result[TopicPartition(topic: topic, partition: partition)] = Int64(count) / Int64(partitions)
        }
        return result
    }

    /// Re-evaluates `condition` every 50 ms until it holds or `timeout` passes.
    static func waitUntil(timeout: Duration, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    static func recordsTrained(_ document: [String: Any]) -> Int64? {
        ((document["training"] as? [String: Any])?["records"] as? NSNumber)?.int64Value
    }

    static func checkpointFailures(_ document: [String: Any]) -> Int64? {
        ((document["checkpoint"] as? [String: Any])?["failures"] as? NSNumber)?.int64Value
    }

    static func checkpointSequence(_ document: [String: Any]) -> Int64? {
        ((document["checkpoint"] as? [String: Any])?["sequence"] as? NSNumber)?.int64Value
    }
}

/// What the tests share: a broker with the training and metrics topics, a configuration whose
/// checkpoint directory is a 256 KiB tmpfs, a producer, a metrics reader and an admin client.
/// Unmounts and removes everything when it goes away.
final class DiskFullSetup {
    typealias Tests = DaemonDiskFullTests

    let broker: DaemonTestBroker
    let directory: String
    let checkpoints: String
    let config: String
    let producer: KafkaProducer
    let metrics: MetricsFollower
    let admin: KafkaAdmin
    private var mount: TmpfsMount?
    private var fillerPath: String { checkpoints + "/filler" }

    init() throws {
        broker = try DaemonTestBroker(topics: [Tests.topic: Tests.partitions, Tests.metricsTopic: 1])
        directory = try DaemonTestFiles.makeDirectory()
        checkpoints = directory + "/checkpoints"
        try FileManager.default.createDirectory(atPath: checkpoints, withIntermediateDirectories: false)
        // A few logistic-regression checkpoints (a page or two each) fit in 256 KiB.
        mount = try TmpfsMount(at: checkpoints, size: "256k")
        config = try DaemonTestFiles.writeConfiguration(
            in: directory,
            bootstrapServers: broker.bootstrapServers,
            topics: [Tests.topic],
            groupID: Tests.group,
            checkpointInterval: 0.2,
            metricsTopic: Tests.metricsTopic,
            metricsInterval: 0.2
        )
        producer = try broker.producer()
        metrics = try MetricsFollower(broker: broker, topic: Tests.metricsTopic)
        admin = try KafkaAdmin(configuration: broker.configuration)
    }

    deinit {
        mount?.unmount()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Produces the first chunk, waits until `daemon` has checkpointed all of it, fills the
    /// checkpoint filesystem, and produces the second chunk. Returns the durable checkpoint.
    func learnFirstChunkThenFillDisk(_ daemon: TestProcess) throws -> Checkpoint {
        try DaemonTestBroker.produce(producer, topic: Tests.topic, partitions: Tests.partitions, count: Tests.chunk)
        let firstChunk = DaemonTestFiles.waitForCheckpoint(in: directory, timeout: .seconds(20)) {
            $0.metadata["records_trained"] == String(Tests.chunk)
        }
        let durable = try #require(firstChunk, "no checkpoint of the first chunk; \(daemon.standardError)")
        #expect(durable.offsets == Tests.offsets(Tests.chunk))
        // Once the daemon has pruned old files after that write, it deletes nothing more (it
        // learns nothing new), so the space the filler takes stays taken.
        #expect(Tests.waitUntil(timeout: .seconds(10)) { checkpointFiles().count <= 3 })

        #expect(try Filler.fill(fillerPath) > 0)
        try DaemonTestBroker.produce(
            producer,
            topic: Tests.topic,
            partitions: Tests.partitions,
            count: Tests.chunk,
            first: Tests.chunk
        )
        return durable
    }

    /// Deletes the filler file.
    func freeDisk() throws {
        try FileManager.default.removeItem(atPath: fillerPath)
    }

    /// Expects that the newest checkpoint on disk is still `durable`, that no temporary file
    /// was left behind, and that no committed offset is beyond the checkpoint's.
    func expectNothingBeyond(_ durable: Checkpoint, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let newest = try #require(DaemonTestFiles.newestCheckpoint(in: directory), sourceLocation: sourceLocation)
        #expect(newest.sequence == durable.sequence, sourceLocation: sourceLocation)
        #expect(newest.offsets == durable.offsets, sourceLocation: sourceLocation)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []
        #expect(!names.contains { $0.hasSuffix(".tmp") }, "\(names)", sourceLocation: sourceLocation)
        for (partition, offset) in try committedOffsets() {
            let checkpointed = newest.offsets[partition] ?? 0
            #expect(
                offset <= checkpointed,
                "\(partition) committed \(offset), newest checkpoint holds \(checkpointed)",
                sourceLocation: sourceLocation
            )
        }
    }

    /// Expects the newest checkpoint and the group's commits to cover both chunks, each record
    /// learned once, and the broker to have kept every record.
    func expectEveryRecordOnce(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let final = try #require(DaemonTestFiles.newestCheckpoint(in: directory), sourceLocation: sourceLocation)
        let expected = Tests.offsets(2 * Tests.chunk)
        #expect(final.offsets == expected, sourceLocation: sourceLocation)
        #expect(DaemonTestFiles.trainedCounts(final) == expected, sourceLocation: sourceLocation)
        #expect(final.metadata["records_trained"] == String(2 * Tests.chunk), sourceLocation: sourceLocation)
        #expect(final.model.recordsTrained == Int64(2 * Tests.chunk), sourceLocation: sourceLocation)
        #expect(try committedOffsets() == expected, sourceLocation: sourceLocation)
        let described = try #require(
            try admin.describeTopics([Tests.topic], timeout: .seconds(10)).first,
            sourceLocation: sourceLocation
        )
        for partition in described.partitions {
            #expect(partition.watermarks?.low == 0, sourceLocation: sourceLocation)
        }
    }

    /// The group's committed offsets of the training topic, as the broker holds them.
    func committedOffsets() throws -> [TopicPartition: Int64] {
        let committed = try admin.listGroupOffsets(group: Tests.group, topics: [Tests.topic], timeout: .seconds(10))
        var result: [TopicPartition: Int64] = [:]
        for (partition, offset) in committed {
            result[TopicPartition(topic: partition.topic, partition: partition.partition)] = offset
        }
        return result
    }

    /// Names of the checkpoint files on the tmpfs.
    private func checkpointFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []
        return names.filter { CheckpointStore.sequence(fileName: $0) != nil }
    }
}

/// A tmpfs mounted on a directory for one test, unmounted by `unmount()`.
final class TmpfsMount {
    let path: String
    private var isMounted = true

    /// Mounts a tmpfs of `size` (mount(8) syntax: "256k") on the existing directory `path`.
    init(at path: String, size: String) throws {
        self.path = path
        let result = try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
        guard result.status == 0 else {
            throw TestBinary.Failure(description: "mount -t tmpfs on '\(path)' failed: \(result.output)")
        }
    }

    deinit { unmount() }

    /// Unmounts (lazily if something still holds it); later calls do nothing.
    func unmount() {
        guard isMounted else { return }
        isMounted = false
        if (try? Self.run("/bin/umount", [path]))?.status != 0 {
            _ = try? Self.run("/bin/umount", ["-l", path])
        }
    }

    /// Why a test that needs a tmpfs is skipped.
    static let refusal: Comment = "mounting a tmpfs needs root with CAP_SYS_ADMIN; this process may not mount"

    /// Whether this process may mount a tmpfs: root, and a trial mount works (a container
    /// without CAP_SYS_ADMIN refuses it even to root).
    static let isPermitted: Bool = {
        guard getuid() == 0 else { return false }
        let probe = NSTemporaryDirectory() + "streamlearn-tmpfs-probe-" + UUID().uuidString.prefix(8)
        guard (try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)) != nil
        else { return false }
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard let mount = try? TmpfsMount(at: probe, size: "64k") else { return false }
        mount.unmount()
        return true
    }()

    private static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Fills a filesystem with one file.
enum Filler {
    /// Appends zeros to `path` until the filesystem says ENOSPC; returns the bytes added.
    /// Throws on any other error.
    static func fill(_ path: String) throws -> Int {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while true {
            let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 {
                total += written
                continue
            }
            if written < 0, errno == EINTR { continue }
            if written < 0, errno != ENOSPC { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            return total
        }
    }
}

/// Follows a metrics topic from its start and keeps the newest message, parsed.
final class MetricsFollower {
    private let reader: KafkaPartitionReader
    private let batch = KafkaMessageBatch(capacity: 256)
    /// The newest metrics document read so far.
    private(set) var latest: [String: Any]?

    init(broker: DaemonTestBroker, topic: String) throws {
        reader = try KafkaPartitionReader(
            configuration: broker.configuration,
            topic: topic,
            partition: 0,
            startOffset: KafkaOffset.beginning
        )
    }

    deinit { batch.release() }

    /// Reads new metrics messages until one satisfies `predicate` (each is offered in order) or
    /// `timeout` passes; returns it.
    func waitFor(timeout: Duration, _ predicate: ([String: Any]) -> Bool) -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard (try? reader.read(into: batch, timeout: .milliseconds(200))) != nil else { continue }
            defer { batch.release() }
            for message in batch {
                guard let value = message.value,
                    let document = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any]
                else { continue }
                latest = document
                if predicate(document) { return document }
            }
        }
        return nil
    }
}
