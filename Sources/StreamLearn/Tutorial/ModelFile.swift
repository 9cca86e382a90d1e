import Foundation
import StreamLearnCore

/// Reads and writes the model files of `train` and `evaluate`: checkpoints in the daemon's
/// format (`CheckpointCodec`), either as one file or as the newest file of a checkpoint
/// directory.
///
/// A single file is written the way `CheckpointStore` writes its files: to a hidden temporary
/// file beside it, fsynced, renamed over the final name, then the directory fsynced; so a
/// reader never sees half a file, and an earlier model at that path survives a failed write.
/// Stateless; safe from any thread.
enum ModelFile {
    /// What `load` found: the checkpoint and the file it came from.
    struct Loaded {
        var checkpoint: Checkpoint
        var path: String
    }

    /// Loads a checkpoint file, or the newest valid checkpoint of a directory (read-only: stale
    /// temporary files of a running daemon are left alone). Damaged newer files of a directory
    /// are skipped, each reported through `warn`.
    ///
    /// Throws `CheckpointError` (its `exitCode` is 74 for unreadable, 65 for damaged), or
    /// `.unreadable` for a directory without checkpoint files.
    static func load(_ path: String, warn: (String) -> Void) throws(CheckpointError) -> Loaded {
        guard isDirectory(path) else {
            return Loaded(checkpoint: try CheckpointStore.read(path: path), path: path)
        }
        let store = CheckpointStore(directory: path, keep: 1)
        guard let loaded = try store.loadNewest(expectedShape: nil, removingStaleFiles: false) else {
            throw .unreadable(path: path, reason: "the directory holds no checkpoint files")
        }
        for skipped in loaded.skipped {
            warn("\(skipped.error), skipping")
        }
        return Loaded(checkpoint: loaded.checkpoint, path: loaded.path)
    }

    /// Writes `checkpoint` to `path` atomically and durably and returns the path written.
    ///
    /// When `path` is an existing directory, the checkpoint becomes that directory's next
    /// checkpoint file (`checkpoint-<sequence>.slck`, sequence one past the largest there) and
    /// no file is removed, so a daemon pointed at the directory starts from it. Otherwise
    /// `path` is the file, replaced if it exists; its directory must exist.
    static func write(_ checkpoint: Checkpoint, to path: String) throws(CheckpointError) -> String {
        if isDirectory(path) {
            // keep: Int.max: this is someone's checkpoint directory; never delete their files.
            let store = CheckpointStore(directory: path, keep: Int.max)
            var numbered = checkpoint
            numbered.sequence = try store.nextSequence()
            return try store.write(numbered)
        }
        let bytes = CheckpointCodec.encode(checkpoint)
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporaryPath = directory + "/." + url.lastPathComponent + ".\(getpid()).tmp"
        try writeSynced(bytes, temporaryPath: temporaryPath, reportedPath: path)
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw .writeFailed(path: path, reason: reason)
        }
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .writeFailed(path: path, reason: "syncing the directory: " + String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw .writeFailed(path: path, reason: "syncing the directory: " + String(cString: strerror(errno)))
        }
        return path
    }

    /// Creates `temporaryPath` (failing if it exists), writes and fsyncs `bytes`; removes the
    /// file on any failure, which names `reportedPath`.
    private static func writeSynced(
        _ bytes: [UInt8],
        temporaryPath: String,
        reportedPath: String
    ) throws(CheckpointError) {
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .writeFailed(path: reportedPath, reason: String(cString: strerror(errno)))
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
            throw .writeFailed(path: reportedPath, reason: String(cString: strerror(failure)))
        }
    }

    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }
}
