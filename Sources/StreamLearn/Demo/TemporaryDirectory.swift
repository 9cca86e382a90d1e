import Foundation
import StreamLearnCore

/// A directory made with mkdtemp(3) under $TMPDIR (or /tmp), removed with its contents by
/// `remove()`. Owned by one command run.
struct TemporaryDirectory {
    let path: String

    /// Creates `<tmp>/<prefix>.XXXXXX`; throws an I/O `CommandError` naming the path on failure.
    init(prefix: String, commandName: String) throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else {
            let reason = String(cString: strerror(errno))
            throw CommandError(
                .ioError,
                "\(commandName): Failed to create a temporary directory in '\(base)': \(reason)"
            )
        }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Files in the directory whose names start with `prefix`.
    func count(namesStartingWith prefix: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.count
    }

    /// Removes the directory and everything in it; a failure is returned as text, not thrown.
    func remove() -> String? {
        do {
            try FileManager.default.removeItem(atPath: path)
            return nil
        } catch {
            return "Failed to remove temporary directory '\(path)': \(error.localizedDescription)"
        }
    }
}
