import Foundation
import Testing

/// The repository root, found from this source file's location.
private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// systemd-analyze, when installed.
private let systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// The streamlearn executable SwiftPM built beside this test bundle.
private func builtBinary() throws -> String {
    let testExecutable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let path = URL(fileURLWithPath: testExecutable).deletingLastPathComponent().appendingPathComponent("streamlearn")
        .path
    try #require(FileManager.default.isExecutableFile(atPath: path), "no built binary at \(path)")
    return path
}

/// What a finished process printed and how it exited.
private struct ProcessOutput {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs `executable` with `arguments` to completion, failing the test if it takes longer than
/// `timeout`. Output goes through files so that a chatty process never blocks on a full pipe.
private func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) throws -> ProcessOutput
{
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outputPath = directory + "/stdout"
    let errorPath = directory + "/stderr"
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let error = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = output
    process.standardError = error
    let finished = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in finished.signal() }
    try process.run()
    let seconds = Double(timeout.components.seconds)
    if finished.wait(timeout: .now() + seconds) == .timedOut {
        process.terminate()
        finished.wait()
        Issue.record("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
    }
    try output.close()
    try error.close()
    return ProcessOutput(
        status: process.terminationStatus,
        standardOutput: try String(contentsOfFile: outputPath, encoding: .utf8),
        standardError: try String(contentsOfFile: errorPath, encoding: .utf8)
    )
}

private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "streamlearn-deploy-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The permission bits of `path`, such as 0o640.
private func mode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? Int) ?? -1
}

/// The shipped unit files; the template is also checked as a concrete instance, so that %i
/// expands in every setting.
private let units: [(source: String, checkedAs: String)] = [
    ("streamlearn.service", "streamlearn.service"),
    ("streamlearn@.service", "streamlearn@.service"),
    ("streamlearn@.service", "streamlearn@example.service"),
]

@Suite("deploy/ unit files and installer")
struct DeployUnitTests {
    @Test(
        "both unit files pass systemd-analyze verify without a warning",
        .enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed")
    )
    func verifyUnits() throws {
        let binary = try builtBinary()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for unit in units {
            // verify checks that ExecStart's program exists; point it at the binary just built,
            // leaving every other line as shipped.
            let text = try String(
                contentsOf: repositoryRoot.appendingPathComponent("deploy/\(unit.source)"),
                encoding: .utf8
            )
            #expect(text.contains("ExecStart=/usr/local/bin/streamlearn run --config %d/config\n"))
            let path = directory + "/" + unit.checkedAs
            try text.replacingOccurrences(of: "ExecStart=/usr/local/bin/streamlearn ", with: "ExecStart=\(binary) ")
                .write(toFile: path, atomically: true, encoding: .utf8)

            let result = try run(systemdAnalyze!, ["verify", path])
            #expect(result.status == 0, "\(unit.checkedAs): \(result.standardError)")
            #expect(result.standardError.isEmpty, "\(unit.checkedAs)")
            #expect(result.standardOutput.isEmpty, "\(unit.checkedAs)")
        }
    }

    @Test(
        "systemd-analyze security rates both units at 2.0 or lower",
        .enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed")
    )
    func securityExposure() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for unit in units {
            let path = directory + "/" + unit.checkedAs
            try FileManager.default.copyItem(
                atPath: repositoryRoot.appendingPathComponent("deploy/\(unit.source)").path,
                toPath: path
            )
            let result = try run(systemdAnalyze!, ["security", "--offline=yes", "--no-pager", path])
            #expect(result.status == 0, "\(unit.checkedAs): \(result.standardError)")

            // The last line reads "→ Overall exposure level for NAME: 1.1 OK 🙂".
            let line = result.standardOutput.split(separator: "\n").last { $0.contains("Overall exposure level") }
            let score = line.flatMap { line in
                line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
            }
            let exposure = try #require(score, "no exposure level in: \(result.standardOutput)")
            #expect(exposure <= 2.0, "\(unit.checkedAs) exposure \(exposure)")
        }
    }

    @Test("install.sh installs binary, units and a private config, and keeps an existing config")
    func installScript() throws {
        let binary = try builtBinary()
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let script = repositoryRoot.appendingPathComponent("deploy/install.sh").path

        let first = try run("/bin/sh", [script, "--binary", binary, "--root", root])
        #expect(first.status == 0, "\(first.standardError)")
        #expect(
            first.standardOutput.contains("Installed example configuration '\(root)/etc/streamlearn/streamlearn.json'")
        )
        #expect(first.standardOutput.contains("systemd was not asked to reload"))

        #expect(try mode(root + "/usr/local/bin/streamlearn") == 0o755)
        #expect(try mode(root + "/etc/systemd/system/streamlearn.service") == 0o644)
        #expect(try mode(root + "/etc/systemd/system/streamlearn@.service") == 0o644)
        #expect(try mode(root + "/etc/streamlearn") == 0o750)
        #expect(try mode(root + "/etc/streamlearn/streamlearn.json") == 0o640)
        #expect(
            FileManager.default.contentsEqual(
                atPath: root + "/etc/streamlearn/streamlearn.json",
                andPath: repositoryRoot.appendingPathComponent("config/streamlearn.json").path
            )
        )
        #expect(FileManager.default.contentsEqual(atPath: root + "/usr/local/bin/streamlearn", andPath: binary))
        #expect(FileManager.default.fileExists(atPath: root + "/usr/local/share/doc/streamlearn/config.md"))
        #expect(
            FileManager.default.fileExists(
                atPath: root + "/usr/local/share/doc/streamlearn/examples/streamlearn-logistic.json"
            )
        )

        let edited = "{ \"edited\": true }\n"
        try edited.write(toFile: root + "/etc/streamlearn/streamlearn.json", atomically: false, encoding: .utf8)
        let second = try run("/bin/sh", [script, "--binary", binary, "--root", root])
        #expect(second.status == 0, "\(second.standardError)")
        #expect(second.standardOutput.contains("Keeping existing configuration"))
        #expect(try String(contentsOfFile: root + "/etc/streamlearn/streamlearn.json", encoding: .utf8) == edited)
    }

    @Test("install.sh refuses a binary that does not exist, naming it")
    func installScriptMissingBinary() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let script = repositoryRoot.appendingPathComponent("deploy/install.sh").path
        let result = try run("/bin/sh", [script, "--binary", root + "/missing", "--root", root])
        #expect(result.status == 66)
        #expect(result.standardError.contains("Failed to find executable '\(root)/missing'"))
        #expect(!FileManager.default.fileExists(atPath: root + "/etc"))
    }
}
