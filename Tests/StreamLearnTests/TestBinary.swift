import Foundation
import Testing

/// Runs the `streamlearn` executable that SwiftPM built for this test run, for process tests.
///
/// Two ways in:
/// - `TestBinary.run(_:standardInput:timeout:)` runs a command to completion and returns its
///   exit status and both outputs. A run that outlives its deadline is killed (SIGTERM, then
///   SIGKILL after a grace period), recorded as a test issue, and returned with `timedOut` set.
/// - `TestBinary.start(_:)` returns a `TestProcess` for long-running commands (`broker`, `run`,
///   `demo`): wait for a line on stdout or stderr with a deadline, send signals, then `wait`.
///
/// The binary is found, in this order: `$STREAMLEARN_BINARY`; beside the test bundle's
/// executable (SwiftPM puts both in `<scratch>/<triple>/debug`, so `--scratch-path` works);
/// `.build/debug/` of the package. Output is read by a thread per pipe as it comes, so a chatty
/// process never blocks on a full pipe, and written input that the process does not read is
/// dropped (SIGPIPE is ignored in the test process) instead of killing the test runner.
/// Everything here waits on events with deadlines; nothing sleeps.
enum TestBinary {
    /// Why a `TestBinary` call could not do what it was asked.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// How a finished process ended and what it printed.
    struct Output: Sendable {
        /// Exit status, or 128 + signal number when a signal ended it (as a shell reports it).
        var status: Int32
        /// The signal that ended the process, if one did.
        var signal: Int32?
        var standardOutputData: Data
        var standardErrorData: Data
        /// True when the deadline passed and the process was killed.
        var timedOut: Bool

        var standardOutput: String { String(decoding: standardOutputData, as: UTF8.self) }
        var standardError: String { String(decoding: standardErrorData, as: UTF8.self) }
        /// Standard output split into lines, without line ends (no empty last line).
        var lines: [String] {
            standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast(
                standardOutput.hasSuffix("\n") || standardOutput.isEmpty ? 1 : 0
            ).map(String.init)
        }
    }

    /// The path of the `streamlearn` executable.
    static func path() throws -> String {
        if let override = ProcessInfo.processInfo.environment["STREAMLEARN_BINARY"] {
            guard FileManager.default.isExecutableFile(atPath: override) else {
                throw Failure(description: "STREAMLEARN_BINARY='\(override)' is not an executable file")
            }
            return override
        }
        var candidates: [String] = []
        if let testExecutable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(directory(of: testExecutable) + "/streamlearn")
        }
        if let bundleExecutable = Bundle.main.executablePath {
            candidates.append(directory(of: bundleExecutable) + "/streamlearn")
        }
        let packageRoot = directory(of: directory(of: directory(of: #filePath)))
        candidates.append(packageRoot + "/.build/debug/streamlearn")
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure(description: "no built streamlearn binary; looked at \(candidates)")
        }
        return found
    }

    /// Runs `streamlearn arguments...` to completion.
    ///
    /// `standardInput` is written to the process's stdin, which is then closed; without it stdin
    /// is /dev/null. `environment` entries are added to (or replace) the test's environment.
    static func run(
        _ arguments: [String],
        standardInput: Data? = nil,
        environment: [String: String] = [:],
        timeout: Duration = .seconds(60),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Output {
        let process = try start(arguments, standardInput: standardInput, environment: environment)
        let output = process.wait(timeout: timeout)
        if output.timedOut {
            let message =
                "streamlearn \(arguments.joined(separator: " ")) did not finish within \(timeout); "
                + "stderr: \(output.standardError)"
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
        }
        return output
    }

    /// Starts `streamlearn arguments...` and returns at once.
    static func start(
        _ arguments: [String],
        standardInput: Data? = nil,
        environment: [String: String] = [:]
    ) throws -> TestProcess {
        try TestProcess(
            executable: try path(),
            arguments: arguments,
            standardInput: standardInput,
            environment: environment
        )
    }

    private static func directory(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// Ignoring SIGPIPE once per test process: a child that exits without reading all its input
    /// must fail the write, not kill the runner.
    static let ignoresBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()
}

/// A running `streamlearn` process with its output captured as it arrives.
///
/// Thread-safe: the reader threads and the caller share its state under one condition lock.
/// When the object goes away while the process still runs, the process is killed and reaped.
final class TestProcess: @unchecked Sendable {
    /// The process id, for `kill(2)` and diagnostics.
    let processIdentifier: Int32
    let arguments: [String]

    private let process: Process
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var outputData = Data()
    private var errorData = Data()
    private var isOutputClosed = false
    private var isErrorClosed = false

    fileprivate init(
        executable: String,
        arguments: [String],
        standardInput: Data?,
        environment: [String: String]
    ) throws {
        TestBinary.ignoresBrokenPipes
        self.arguments = arguments
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        let inputPipe = standardInput.map { _ in Pipe() }
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        process.standardInput = inputPipe ?? FileHandle.nullDevice
        process.terminationHandler = { [condition] _ in
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
        try process.run()
        processIdentifier = process.processIdentifier

        startReading(outputPipe.fileHandleForReading, isStandardOutput: true)
        startReading(errorPipe.fileHandleForReading, isStandardOutput: false)
        if let inputPipe, let standardInput {
            let writer = inputPipe.fileHandleForWriting
            Thread.detachNewThread {
                // A process that exits early makes this fail with EPIPE; that is its business.
                try? writer.write(contentsOf: standardInput)
                try? writer.close()
            }
        }
    }

    deinit {
        if process.isRunning {
            kill(processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Standard output so far.
    var standardOutput: String { locked { String(decoding: outputData, as: UTF8.self) } }
    /// Standard error so far.
    var standardError: String { locked { String(decoding: errorData, as: UTF8.self) } }

    /// Sends `signal` (SIGTERM, SIGINT, SIGKILL...) to the process.
    func send(_ signal: Int32) {
        kill(processIdentifier, signal)
    }

    /// Waits for a complete line on standard output (or standard error) that satisfies
    /// `predicate`, and returns it. Throws when the deadline passes or the process closes that
    /// stream first; the error quotes what was printed.
    @discardableResult
    func waitForLine(
        onStandardError: Bool = false,
        timeout: Duration = .seconds(30),
        where predicate: (String) -> Bool
    ) throws -> String {
        let deadline = Date(timeIntervalSinceNow: timeout.seconds)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let data = onStandardError ? errorData : outputData
            let text = String(decoding: data, as: UTF8.self)
            let complete = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            if let line = complete.first(where: { predicate(String($0)) }) { return String(line) }
            let streamName = onStandardError ? "stderr" : "stdout"
            // At the end of the stream no further line can come.
            if onStandardError ? isErrorClosed : isOutputClosed {
                throw TestBinary.Failure(
                    description: "streamlearn \(arguments.joined(separator: " ")) exited before printing the "
                        + "expected line on \(streamName); stdout: \(quoted(outputData)), stderr: \(quoted(errorData))"
                )
            }
            if !condition.wait(until: deadline) {
                throw TestBinary.Failure(
                    description: "no expected line on \(streamName) of streamlearn \(arguments.joined(separator: " ")) "
                        + "within \(timeout); stdout: \(quoted(outputData)), stderr: \(quoted(errorData))"
                )
            }
        }
    }

    /// Waits for the process to exit and its output to end; past the deadline it is sent
    /// SIGTERM, then SIGKILL five seconds later, and the result has `timedOut` set.
    func wait(timeout: Duration = .seconds(60)) -> TestBinary.Output {
        var timedOut = false
        if !waitForExit(until: Date(timeIntervalSinceNow: timeout.seconds)) {
            timedOut = true
            send(SIGTERM)
            if !waitForExit(until: Date(timeIntervalSinceNow: 5)) {
                send(SIGKILL)
            }
        }
        process.waitUntilExit()
        // A grandchild could hold the pipes open; do not wait for it for long.
        _ = waitForStreams(until: Date(timeIntervalSinceNow: 5))

        let isSignal = process.terminationReason == .uncaughtSignal
        let status = process.terminationStatus
        return locked {
            TestBinary.Output(
                status: isSignal ? 128 + status : status,
                signal: isSignal ? status : nil,
                standardOutputData: outputData,
                standardErrorData: errorData,
                timedOut: timedOut
            )
        }
    }

    private func waitForExit(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while process.isRunning {
            // Short slices: Foundation may clear isRunning just after the termination handler's
            // broadcast, so re-check rather than trust a single wake-up.
            let slice = min(deadline, Date(timeIntervalSinceNow: 0.05))
            if !condition.wait(until: slice), Date() >= deadline { return !process.isRunning }
        }
        return true
    }

    private func waitForStreams(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !(isOutputClosed && isErrorClosed) {
            if !condition.wait(until: deadline) { return isOutputClosed && isErrorClosed }
        }
        return true
    }

    private func startReading(_ handle: FileHandle, isStandardOutput: Bool) {
        Thread.detachNewThread { [self] in
            let descriptor = handle.fileDescriptor
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65_536, alignment: 1)
            defer { buffer.deallocate() }
            while true {
                let count = read(descriptor, buffer, 65_536)
                if count < 0 && errno == EINTR { continue }
                condition.lock()
                if count > 0 {
                    let chunk = Data(bytes: buffer, count: count)
                    if isStandardOutput { outputData.append(chunk) } else { errorData.append(chunk) }
                } else if isStandardOutput {
                    isOutputClosed = true
                } else {
                    isErrorClosed = true
                }
                condition.broadcast()
                condition.unlock()
                if count <= 0 { break }
            }
            try? handle.close()
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    private func quoted(_ data: Data) -> String {
        let text = String(decoding: data.suffix(2000), as: UTF8.self)
        return "'" + text + "'"
    }
}

extension Duration {
    /// The duration in seconds, for Foundation's Date-based deadlines.
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
