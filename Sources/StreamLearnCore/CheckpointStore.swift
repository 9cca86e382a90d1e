import Foundation

/// The checkpoint directory: atomic writes, the newest `keep` files, and loading the newest
/// valid one.
///
/// Files are named `checkpoint-<sequence, 12 digits>.slck`; a write goes to a hidden temporary
/// file in the same directory (`.checkpoint-<sequence>.slck.<pid>.tmp`), which is fsynced,
/// renamed over the final name, and then the directory is fsynced, so that after `write`
/// returns the checkpoint survives a crash or power loss and a reader never sees half a file.
/// The store assumes it is the only writer of its directory (one daemon per directory).
/// A value type without shared mutable state; calls from several threads at once are safe for
/// reading, but writes must come from one owner.
public struct CheckpointStore: Sendable {
    /// The directory holding the checkpoint files.
    public let directory: String
    /// How many checkpoint files `write` leaves behind, newest first (at least 1).
    public let keep: Int

    /// What `loadNewest` found.
    public struct LoadResult: Equatable, Sendable {
        /// The newest valid checkpoint.
        public var checkpoint: Checkpoint
        /// Its file.
        public var path: String
        /// Newer files that were damaged or unreadable, newest first, with the reason; the
        /// caller logs them.
        public var skipped: [SkippedCheckpoint]
    }

    /// A store over `directory` that keeps the newest `keep` checkpoints.
    ///
    /// - Precondition: `keep >= 1` (configuration validates the operator's value).
    public init(directory: String, keep: Int) {
        precondition(keep >= 1, "a checkpoint store must keep at least one file")
        self.directory = directory
        self.keep = keep
    }

    /// The file name of the checkpoint with `sequence`: "checkpoint-000000000042.slck".
    public static func fileName(sequence: Int64) -> String {
        let digits = String(sequence)
        return "checkpoint-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".slck"
    }

    /// The sequence a checkpoint file name carries, or nil for any other name.
    public static func sequence(fileName: String) -> Int64? {
        guard fileName.hasPrefix("checkpoint-"), fileName.hasSuffix(".slck") else { return nil }
        let digits = fileName.dropFirst("checkpoint-".count).dropLast(".slck".count)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return Int64(digits)
    }

    /// Creates the directory (mode 0750) if it does not exist yet; its parent must exist.
    public func prepareDirectory() throws(CheckpointError) {
        if mkdir(directory, 0o750) != 0, errno != EEXIST {
            throw .directoryUnavailable(path: directory, reason: CheckpointError.reason(errno: errno))
        }
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw .directoryUnavailable(path: directory, reason: CheckpointError.reason(errno: errno))
        }
        guard (status.st_mode & S_IFMT) == S_IFDIR else {
            throw .directoryUnavailable(path: directory, reason: "not a directory")
        }
    }

    // MARK: - Writing

    /// Writes `checkpoint` durably and removes all but the newest `keep` checkpoint files.
    ///
    /// Returns the path of the new file. On failure (ENOSPC, EIO, a read-only or missing
    /// directory) it throws `CheckpointError.writeFailed` naming the file and the system's
    /// reason, removes its temporary file, and leaves the previous checkpoints as they were.
    /// Failing to delete an old checkpoint is not an error: the next write tries again.
    @discardableResult
    public func write(_ checkpoint: Checkpoint) throws(CheckpointError) -> String {
        let bytes = CheckpointCodec.encode(checkpoint)
        let name = CheckpointStore.fileName(sequence: checkpoint.sequence)
        let path = join(name)
        let temporaryPath = join(".\(name).\(getpid()).tmp")
        removeStaleTemporaryFiles()

        try writeFile(bytes, temporaryPath: temporaryPath, finalPath: path)
        guard rename(temporaryPath, path) == 0 else {
            let reason = CheckpointError.reason(errno: errno)
            unlink(temporaryPath)
            throw .writeFailed(path: path, reason: reason)
        }
        try syncDirectory(path: path)

        removeOldCheckpoints(sparing: name)
        return path
    }

    /// Creates `temporaryPath`, writes `bytes` and fsyncs; on any failure removes the file.
    private func writeFile(_ bytes: [UInt8], temporaryPath: String, finalPath: String) throws(CheckpointError) {
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .writeFailed(path: finalPath, reason: CheckpointError.reason(errno: errno))
        }
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == 0, fsync(descriptor) != 0 { failure = errno }
        // close can report a deferred write error (NFS); it counts as a failed write.
        if close(descriptor) != 0, failure == 0 { failure = errno }
        if failure != 0 {
            unlink(temporaryPath)
            throw .writeFailed(path: finalPath, reason: CheckpointError.reason(errno: failure))
        }
    }

    /// Makes the rename durable: without this a power loss can forget the new directory entry.
    private func syncDirectory(path: String) throws(CheckpointError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .writeFailed(path: path, reason: "syncing the directory: " + CheckpointError.reason(errno: errno))
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw .writeFailed(path: path, reason: "syncing the directory: " + CheckpointError.reason(errno: errno))
        }
    }

    private func removeOldCheckpoints(sparing newest: String) {
        guard let names = try? listDirectory() else { return }
        let checkpoints = names.compactMap { name in
            CheckpointStore.sequence(fileName: name).map { (name: name, sequence: $0) }
        }
        let byAge = checkpoints.sorted { $0.sequence > $1.sequence }
        var kept = 1  // the file just written
        for file in byAge where file.name != newest {
            if kept < keep {
                kept += 1
            } else {
                unlink(join(file.name))
            }
        }
    }

    /// Deletes temporary files that a crashed writer left behind. Only the single writer of the
    /// directory may call it (a reader could delete a write in progress).
    public func removeStaleTemporaryFiles() {
        guard let names = try? listDirectory() else { return }
        for name in names where name.hasPrefix(".checkpoint-") && name.hasSuffix(".tmp") {
            unlink(join(name))
        }
    }

    // MARK: - Reading

    /// The sequence number the next checkpoint should carry: one more than the largest in the
    /// directory, damaged files included (so a new file sorts after them); 1 when empty.
    public func nextSequence() throws(CheckpointError) -> Int64 {
        let sequences = try listDirectory().compactMap(CheckpointStore.sequence(fileName:))
        guard let largest = sequences.max() else { return 1 }
        return largest == Int64.max ? largest : largest + 1
    }

    /// Paths of the checkpoint files, newest (largest sequence) first.
    public func checkpointPaths() throws(CheckpointError) -> [String] {
        try listDirectory()
            .compactMap { name in CheckpointStore.sequence(fileName: name).map { (name, $0) } }
            .sorted { $0.1 > $1.1 }
            .map { join($0.0) }
    }

    /// Loads the newest valid checkpoint, or nil when the directory holds no checkpoint file.
    ///
    /// Damaged or unreadable newer files are skipped and listed in the result. A valid checkpoint
    /// whose `model.shapeDescription` differs from `expectedShape` (when given) throws
    /// `shapeMismatch` stating both shapes: an older file is never used in its place. When
    /// every file is damaged it throws `noValidCheckpoint` instead of starting over, because
    /// the group's committed offsets already count the training those files held. Temporary
    /// files of an interrupted write are ignored, and removed when `removingStaleFiles` (pass
    /// false from read-only tools such as `predict`, which may run beside the daemon).
    public func loadNewest(
        expectedShape: String?,
        removingStaleFiles: Bool = true
    ) throws(CheckpointError) -> LoadResult? {
        let paths = try checkpointPaths()
        if removingStaleFiles { removeStaleTemporaryFiles() }
        var skipped: [SkippedCheckpoint] = []
        for path in paths {
            let checkpoint: Checkpoint
            do {
                checkpoint = try CheckpointStore.read(path: path)
            } catch {
                skipped.append(SkippedCheckpoint(path: path, error: error))
                continue
            }
            if let expectedShape, checkpoint.model.shapeDescription != expectedShape {
                throw .shapeMismatch(path: path, found: checkpoint.model.shapeDescription, expected: expectedShape)
            }
            return LoadResult(checkpoint: checkpoint, path: path, skipped: skipped)
        }
        if !skipped.isEmpty { throw .noValidCheckpoint(directory: directory, skipped: skipped) }
        return nil
    }

    /// Reads and verifies one checkpoint file.
    public static func read(path: String) throws(CheckpointError) -> Checkpoint {
        let bytes = try readFile(path: path)
        do {
            return try CheckpointCodec.decode(bytes)
        } catch {
            throw .damaged(path: path, error)
        }
    }

    /// The raw bytes of a checkpoint file, refusing files larger than the codec reads.
    public static func readFile(path: String) throws(CheckpointError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(path: path, reason: CheckpointError.reason(errno: errno)) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .unreadable(path: path, reason: CheckpointError.reason(errno: errno))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadable(path: path, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        guard size <= CheckpointCodec.maximumFileSize else {
            throw .damaged(path: path, .tooLarge(bytes: size, limit: CheckpointCodec.maximumFileSize))
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var failure: Int32 = 0
        // Reads at most `size` bytes: a file that grows while being read is cut at its fstat size,
        // and one that shrinks comes out short, which the length check reports as truncated.
        let count = bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let got = Foundation.read(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if got == 0 { break }
                offset += got
            }
            return offset
        }
        guard failure == 0 else { throw .unreadable(path: path, reason: CheckpointError.reason(errno: failure)) }
        bytes.removeLast(size - count)
        return bytes
    }

    // MARK: - Helpers

    private func join(_ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    private func listDirectory() throws(CheckpointError) -> [String] {
        guard let stream = opendir(directory) else {
            throw .directoryUnavailable(path: directory, reason: CheckpointError.reason(errno: errno))
        }
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 {
                    throw .directoryUnavailable(path: directory, reason: CheckpointError.reason(errno: errno))
                }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            names.append(name)
        }
        return names
    }
}
