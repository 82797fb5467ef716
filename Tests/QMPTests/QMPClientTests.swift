import Foundation
import JSON
import JobModel
import Logging
import QMP
import Synchronization
import TestSupport
import Testing

/// The QMP client against a fake QMP server on a UNIX socket.
@Suite struct QMPClientTests {
    func socketPath() -> String {
        NSTemporaryDirectory() + "qmp-\(UUID().uuidString.prefix(8)).sock"
    }

    @Test("greeting, capabilities, replies matched by id, QEMU's refusal kept verbatim")
    func commands() async throws {
        let server = try FakeQMPServer(socketPath: socketPath()) { command, arguments in
            switch command {
            case "echo": .value(arguments ?? .null)
            default: .error(errorClass: "CommandNotFound", description: "The command \(command) has not been found")
            }
        }
        defer { server.close() }
        let client = QMPClient(commandTimeout: .seconds(5), logger: Logger(label: "test"))
        let greeting = try await client.connect(socketPath: server.socketPath)
        #expect(greeting.version == QEMUVersion(major: 7, minor: 2, micro: 22))
        async let first = client.execute("echo", arguments: ["n": 1])
        async let second = client.execute("echo", arguments: ["n": 2])
        #expect(try await first == ["n": 1])
        #expect(try await second == ["n": 2])
        await #expect(
            throws: QMPError.command(
                QMPRemoteError(errorClass: "CommandNotFound", description: "The command nope has not been found"))
        ) {
            try await client.execute("nope", arguments: nil)
        }
        #expect(server.received.first == "qmp_capabilities")
        await client.finish()
    }

    @Test("a command with no answer times out instead of hanging")
    func timeout() async throws {
        let server = try FakeQMPServer(socketPath: socketPath()) { _, _ in .ignore }
        defer { server.close() }
        let client = QMPClient(commandTimeout: .milliseconds(300), logger: Logger(label: "test"))
        _ = try await client.connect(socketPath: server.socketPath)
        await #expect(throws: QMPError.timeout(command: "query-jobs", seconds: 0.3)) {
            try await client.execute("query-jobs", arguments: nil)
        }
        await client.finish()
    }

    @Test("the timeout is the clock's: nothing expires before it passes the deadline, and the command fails after")
    func timeoutByTheClock() async throws {
        let received = Mutex(false)
        let server = try FakeQMPServer(socketPath: socketPath()) { command, _ in
            if command == "query-jobs" { received.withLock { $0 = true } }
            return .ignore
        }
        defer { server.close() }
        let clock = ManualClock()
        let client = QMPClient(commandTimeout: .seconds(30), clock: clock, logger: Logger(label: "test"))
        _ = try await client.connect(socketPath: server.socketPath)
        let outcome = Mutex<String?>(nil)
        let command = Task {
            do {
                _ = try await client.execute("query-jobs", arguments: nil)
                outcome.withLock { $0 = "answered" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
        }
        // Sent (its deadline fixed, 30 s of the clock from now), and real time passing changes nothing.
        while !received.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(200))
        clock.advance(by: .seconds(29))
        try await Task.sleep(for: .milliseconds(100))
        #expect(outcome.withLock { $0 } == nil)
        clock.advance(by: .seconds(2))
        let giveUp = ContinuousClock.now + .seconds(5)
        while outcome.withLock({ $0 }) == nil && ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(outcome.withLock { $0 } == "\(QMPError.timeout(command: "query-jobs", seconds: 30))")
        command.cancel()
        await client.finish()
    }

    @Test("a lost connection fails pending commands and is announced; commands then fail fast")
    func disconnect() async throws {
        let server = try FakeQMPServer(socketPath: socketPath()) { _, _ in .ignore }
        let client = QMPClient(commandTimeout: .seconds(30), logger: Logger(label: "test"))
        _ = try await client.connect(socketPath: server.socketPath)
        let pending = Task { try await client.execute("query-jobs", arguments: nil) }
        _ = await eventually { server.received.contains("query-jobs") }
        server.close()
        await #expect(throws: QMPError.disconnected) { try await pending.value }
        await #expect(throws: QMPError.notConnected) { try await client.execute("query-jobs", arguments: nil) }
        var signals: [QMPSignal] = []
        await client.finish()
        for await signal in client.signals { signals.append(signal) }
        #expect(signals.count == 2)
        if case .disconnected = signals.last {} else { Issue.record("expected .disconnected, got \(signals)") }
    }

    @Test("QMP lines are classified into greeting, success, failure and event")
    func messages() throws {
        let event = try QMPMessage(
            JSONValue.parse(
                Data(
                    #"{"event":"JOB_STATUS_CHANGE","data":{"id":"b0","status":"running"},"timestamp":{"seconds":10,"microseconds":500000}}"#
                        .utf8)))
        guard case .event(let decoded) = event else { Issue.record("not an event"); return }
        #expect(decoded.name == "JOB_STATUS_CHANGE")
        #expect(decoded.timestamp == Date(timeIntervalSince1970: 10.5))
        #expect(throws: QMPError.self) { try QMPMessage(["what": 1]) }
    }
}
