import Foundation
import Systemd
import Testing

/// A datagram socket standing in for systemd's notification socket, in a fresh temporary
/// directory. Closed and removed by `close()`.
private final class NotifySocket {
    let directory: String
    let path: String
    private let descriptor: Int32

    init() throws {
        directory = NSTemporaryDirectory() + "streamlearn-notify-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/notify.sock"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        precondition(pathBytes.count < MemoryLayout.size(ofValue: address.sun_path), "socket path too long")
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// The next datagram as text, or nil if none arrives within `timeout`.
    func receive(timeout: Duration = .seconds(5)) -> String? {
        var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000)
        guard poll(&pollDescriptor, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    func close() {
        _ = Foundation.close(descriptor)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` with the given environment variables set (nil: unset), restoring them after.
private func withEnvironment<T>(_ variables: [String: String?], _ body: () throws -> T) rethrows -> T {
    var saved: [String: String?] = [:]
    for (name, value) in variables {
        saved[name] = getenv(name).map { String(cString: $0) }
        if let value { setenv(name, value, 1) } else { unsetenv(name) }
    }
    defer {
        for (name, value) in saved {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
    }
    return try body()
}

/// These tests change the process environment, so they run one at a time.
@Suite("systemd notifications", .serialized)
struct SystemdNotifierTests {
    @Test("outside systemd every notification is silently skipped")
    func silentWithoutSocket() throws {
        try withEnvironment(["NOTIFY_SOCKET": nil, "WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) {
            let notifier = SystemdNotifier()
            #expect(!notifier.isEnabled)
            try notifier.ready()
            try notifier.status("trained 10 records")
            try notifier.watchdog()
            try notifier.stopping()
            let interval = try notifier.watchdogInterval
            #expect(interval == nil)
        }
    }

    @Test("READY, STATUS, WATCHDOG and STOPPING arrive on the notification socket in order")
    func lifecycleMessages() throws {
        let socket = try NotifySocket()
        defer { socket.close() }
        try withEnvironment(["NOTIFY_SOCKET": socket.path]) {
            let notifier = SystemdNotifier()
            #expect(notifier.isEnabled)

            try notifier.ready()
            #expect(socket.receive() == "READY=1")
            try notifier.status("step 120, 3840 records, loss 0.52")
            #expect(socket.receive() == "STATUS=step 120, 3840 records, loss 0.52")
            try notifier.watchdog()
            #expect(socket.receive() == "WATCHDOG=1")
            try notifier.stopping()
            #expect(socket.receive() == "STOPPING=1")
            try notifier.extendTimeout(by: .seconds(20))
            #expect(socket.receive() == "EXTEND_TIMEOUT_USEC=20000000")

            // sd_notify was called with unset_environment = 0: the variable is still there.
            #expect(getenv("NOTIFY_SOCKET").map { String(cString: $0) } == socket.path)
        }
    }

    @Test("RELOADING carries the monotonic time systemd requires")
    func reloadingMessage() throws {
        let socket = try NotifySocket()
        defer { socket.close() }
        try withEnvironment(["NOTIFY_SOCKET": socket.path]) {
            try SystemdNotifier().reloading()
            let lines = socket.receive()?.split(separator: "\n").map(String.init) ?? []
            #expect(lines.count == 2)
            #expect(lines.first == "RELOADING=1")
            let microseconds = lines.last.flatMap { $0.hasPrefix("MONOTONIC_USEC=") ? UInt64($0.dropFirst(15)) : nil }
            #expect((microseconds ?? 0) > 0)
        }
    }

    @Test("a status with line breaks stays a single STATUS assignment")
    func statusIsOneLine() throws {
        let socket = try NotifySocket()
        defer { socket.close() }
        try withEnvironment(["NOTIFY_SOCKET": socket.path]) {
            try SystemdNotifier().status("first\nREADY=1\tsecond")
            #expect(socket.receive() == "STATUS=first READY=1 second")

            try SystemdNotifier().status(String(repeating: "é", count: 1000))
            let long = socket.receive() ?? ""
            #expect(long.utf8.count == "STATUS=".utf8.count + SystemdNotifier.maximumStatusBytes)
        }
    }

    @Test("the watchdog interval comes from WATCHDOG_USEC when WATCHDOG_PID is this process")
    func watchdogInterval() throws {
        let ownPID = String(getpid())
        let forThisProcess = try withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": ownPID]) {
            try SystemdNotifier().watchdogInterval
        }
        #expect(forThisProcess == .seconds(30))
        let forAnyProcess = try withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": nil]) {
            try SystemdNotifier().watchdogInterval
        }
        #expect(forAnyProcess == .seconds(30))
        let forAnotherProcess = try withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": String(getpid() + 1)])
        {
            try SystemdNotifier().watchdogInterval
        }
        #expect(forAnotherProcess == nil)
        // sd_watchdog_enabled was called with unset_environment = 0: the variables are still there.
        let stillSet = withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": ownPID]) {
            _ = try? SystemdNotifier().watchdogInterval
            return getenv("WATCHDOG_USEC") != nil && getenv("WATCHDOG_PID") != nil
        }
        #expect(stillSet)
        withEnvironment(["WATCHDOG_USEC": "soon", "WATCHDOG_PID": ownPID]) {
            let error = #expect(throws: SystemdError.self) { _ = try SystemdNotifier().watchdogInterval }
            #expect(error?.description.hasPrefix("Failed to parse watchdog settings 'WATCHDOG_USEC=soon'") == true)
        }
    }

    @Test("a notification socket that nobody listens on is reported, naming the message")
    func unreachableSocket() throws {
        let directory = NSTemporaryDirectory() + "streamlearn-notify-" + UUID().uuidString.prefix(8)
        withEnvironment(["NOTIFY_SOCKET": directory + "/missing.sock"]) {
            let error = #expect(throws: SystemdError.self) { try SystemdNotifier().ready() }
            #expect(
                error?.description
                    == "Failed to notify systemd 'READY=1' on socket '\(directory)/missing.sock': "
                    + "No such file or directory"
            )
        }
    }
}
