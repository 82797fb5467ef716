import Foundation
import JSON
import JobModel
import Logging

/// A QMP client over a UNIX socket: greeting, `qmp_capabilities`, commands tagged with ids and matched to their
/// replies, a timeout on every command, and events delivered in wire order.
///
/// One client lives as long as jobgate and survives reconnects: `signals` carries `.connected`, every event, and
/// `.disconnected` across all connections, so its single listener (the job manager) sees one ordered history.
///
/// ```swift
/// let client = QMPClient(logger: logger)
/// let greeting = try await client.connect(socketPath: "/var/lib/jobgate/qmp.sock")
/// let jobs = try await client.execute("query-jobs", arguments: nil)
/// ```
public actor QMPClient: QMPExecuting {
    private enum State {
        case disconnected
        case connecting(QMPConnection, CheckedContinuation<QMPGreeting, any Error>?)
        case ready(QMPConnection, QMPGreeting)
    }

    /// Every connection, event and disconnection, in order. Has exactly one consumer. Events are pushed by the
    /// connection's reader thread itself (an event read while `qmp_capabilities` is answered may come before
    /// `.connected`, as it could when it went through this actor).
    public nonisolated let signals = QMPSignalQueue()
    private let commandTimeout: Duration
    private let logger: Logger
    /// What the command deadlines, the greeting timeout and liveness are measured by.
    private let clock: any TimerClock

    private var state = State.disconnected
    private var nextID: Int64 = 1
    private var pending: [Int64: Pending] = [:]

    private struct Pending {
        var command: String
        var timeout: Duration
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<JSONValue, any Error>
    }
    /// Since when the engine has not answered a liveness probe (`probeLiveness`); nil while it answers. Commands
    /// fail fast meanwhile.
    private var unresponsiveSince: ContinuousClock.Instant?
    /// The one timer of all pending commands (`watchDeadlines`), and the deadline it sleeps until.
    private var deadlineTimer: (task: Task<Void, Never>, until: ContinuousClock.Instant)?
    private var disconnectWaiters: [CheckedContinuation<Void, Never>] = []
    private var isProbing = false
    /// True when the last connection was dropped because the engine stopped answering (a command timed out, and
    /// so did a probe after it); reset by the next `connect`.
    public private(set) var lastDisconnectWasHang = false

    /// - Parameters:
    ///   - commandTimeout: how long any command may take before it fails with `QMPError.timeout`.
    ///   - clock: what deadlines are measured by (`SystemClock`; tests may advance their own).
    ///   - logger: where protocol trouble is reported.
    public init(commandTimeout: Duration = .seconds(30), clock: any TimerClock = SystemClock(), logger: Logger) {
        self.commandTimeout = commandTimeout
        self.clock = clock
        self.logger = logger
    }

    /// The greeting of the current connection, if one is ready.
    public var greeting: QMPGreeting? {
        if case .ready(_, let greeting) = state { return greeting }
        return nil
    }

    /// Connects, reads the greeting and negotiates capabilities; then emits `.connected`.
    /// - Parameter greetingTimeout: how long to wait for the greeting (an engine that has another client
    ///   attached accepts the connection but sends nothing).
    /// - Throws: `QMPError` if the socket cannot be reached, the greeting does not come, or negotiation fails.
    public func connect(socketPath: String, greetingTimeout: Duration = .seconds(10)) async throws -> QMPGreeting {
        guard case .disconnected = state else { throw QMPError.protocolViolation("already connected") }
        let connection = try QMPConnection(path: socketPath) { [signals] event in signals.push(.event(event)) }
        lastDisconnectWasHang = false
        state = .connecting(connection, nil)
        connection.start()
        Task { await self.pump(connection) }
        let timer = Task { [clock] in
            try? await clock.sleep(for: greetingTimeout)
            if !Task.isCancelled { self.failGreeting(of: connection, seconds: greetingTimeout) }
        }
        defer { timer.cancel() }
        let greeting = try await withCheckedThrowingContinuation { continuation in
            if case .connecting(let current, nil) = state, current === connection {
                state = .connecting(connection, continuation)
            } else {
                continuation.resume(throwing: QMPError.disconnected)
            }
        }
        state = .ready(connection, greeting)
        do {
            _ = try await execute("qmp_capabilities", arguments: nil)
        } catch {
            drop(connection, reason: "capabilities negotiation failed: \(error)")
            throw error
        }
        signals.push(.connected(greeting))
        return greeting
    }

    /// Runs one command and returns its `return` value.
    /// - Throws: `QMPError.command` with QEMU's class and text, `.timeout`, `.notConnected`, `.disconnected`, or
    ///   `.unresponsive` at once while the engine does not answer its liveness probes.
    public func execute(_ command: String, arguments: JSONValue? = nil) async throws -> JSONValue {
        if let since = unresponsiveSince {
            throw QMPError.unresponsive(seconds: (clock.now - since).seconds)
        }
        return try await send(command, arguments: arguments, timeout: commandTimeout)
    }

    /// Runs one command with `descriptors` attached to it (`SCM_RIGHTS`), as QMP's `add-fd` and `getfd` expect.
    /// QEMU reads no further while a command runs, so the descriptors cannot be mistaken for a later command's.
    /// The caller keeps (and closes) its own copies.
    public func execute(_ command: String, arguments: JSONValue?, passing descriptors: [Int32]) async throws
        -> JSONValue
    {
        if let since = unresponsiveSince {
            throw QMPError.unresponsive(seconds: (clock.now - since).seconds)
        }
        return try await send(command, arguments: arguments, timeout: commandTimeout, passing: descriptors)
    }

    /// Sends one command and waits for its answer, at most `timeout`.
    private func send(
        _ command: String, arguments: JSONValue?, timeout: Duration, passing descriptors: [Int32] = []
    ) async throws -> JSONValue {
        guard case .ready(let connection, _) = state else { throw QMPError.notConnected }
        let id = nextID
        nextID += 1
        var message: [String: JSONValue] = ["execute": .string(command), "id": .int(id)]
        if let arguments { message["arguments"] = arguments }
        return try await withCheckedThrowingContinuation { continuation in
            let deadline = clock.now + timeout
            pending[id] = Pending(command: command, timeout: timeout, deadline: deadline, continuation: continuation)
            armDeadlineTimer(for: deadline)
            if !connection.send(.object(message), passing: descriptors) {
                finish(id, with: .failure(QMPError.disconnected))
            }
        }
    }

    /// Asks the engine `query-version`, waiting at most `timeout`: the liveness probe `EngineSupervisor` sends
    /// about once a second. While probes go unanswered, commands fail at once with `.unresponsive`; once
    /// the engine has not answered for `hangAfter`, the connection is dropped as hung (the supervisor then kills
    /// and replaces an engine jobgate owns).
    /// - Returns: how long the engine has been unresponsive, or nil if it answered (or is not connected).
    @discardableResult
    public func probeLiveness(timeout: Duration, hangAfter: Duration) async -> Duration? {
        guard case .ready(let connection, _) = state else { return nil }
        do {
            _ = try await send("query-version", arguments: nil, timeout: timeout)
            if let since = unresponsiveSince {
                logger.notice(
                    "the QEMU engine answers QMP again",
                    metadata: ["after": "\(String(format: "%.1f", (clock.now - since).seconds))s"])
            }
            unresponsiveSince = nil
            return nil
        } catch QMPError.timeout {
            let since = unresponsiveSince ?? clock.now - timeout
            if unresponsiveSince == nil {
                logger.error("the QEMU engine does not answer QMP", metadata: ["waited": "\(timeout)"])
            }
            unresponsiveSince = since
            let silent = clock.now - since
            if silent >= hangAfter {
                lastDisconnectWasHang = true
                drop(connection, reason: "the QEMU engine stopped answering QMP")
            }
            return silent
        } catch {
            return nil
        }
    }

    /// Closes the current connection, if any; pending commands fail with `.disconnected`.
    public func disconnect() {
        switch state {
        case .disconnected: return
        case .connecting(let connection, _), .ready(let connection, _):
            drop(connection, reason: "closed by jobgate")
        }
    }

    /// Returns once no connection is open (at once if none is).
    public func waitUntilDisconnected() async {
        if case .disconnected = state { return }
        await withCheckedContinuation { disconnectWaiters.append($0) }
    }

    /// Ends `signals`; call once, at shutdown.
    public func finish() {
        disconnect()
        signals.finish()
    }

    // MARK: - Inbound

    private func pump(_ connection: QMPConnection) async {
        for await item in connection.messages {
            switch item {
            case .success(let message): receive(message, on: connection)
            case .failure(let error): logger.warning("ignoring QMP line", metadata: ["error": "\(error)"])
            }
        }
        drop(connection, reason: "the engine closed the QMP connection")
    }

    private func receive(_ message: QMPMessage, on connection: QMPConnection) {
        switch message {
        case .greeting(let greeting):
            if case .connecting(let current, let waiter?) = state, current === connection {
                state = .connecting(connection, nil)
                waiter.resume(returning: greeting)
            }
        case .success(let id, let value):
            if let id = id?.intValue { finish(id, with: .success(value)) }
        case .failure(let id, let error):
            if let id = id?.intValue {
                finish(id, with: .failure(QMPError.command(error)))
            } else if let oldest = pending.keys.min() {
                // QEMU could not read a command (its JSON parser refused it, e.g. a noncharacter such as U+FDD0 in a string: "invalid
                // UTF-8 sequence in string"), so it answers without the id. The monitor answers in order, so
                // the refusal is the oldest command's; without this it would wait for its timeout.
                logger.warning(
                    "QMP error without id, taken as the answer to the oldest command",
                    metadata: ["class": "\(error.errorClass)", "desc": "\(error.description)"])
                finish(oldest, with: .failure(QMPError.command(error)))
            } else {
                logger.warning(
                    "QMP error without id", metadata: ["class": "\(error.errorClass)", "desc": "\(error.description)"])
            }
        case .event(let event):
            signals.push(.event(event))
        }
    }

    /// Makes sure the timer wakes by `deadline`: one task for all pending commands, replaced only when a command
    /// comes with an earlier deadline than the one it sleeps until.
    private func armDeadlineTimer(for deadline: ContinuousClock.Instant) {
        if let timer = deadlineTimer, timer.until <= deadline { return }
        deadlineTimer?.task.cancel()
        deadlineTimer = (Task { await self.watchDeadlines(sleepingUntil: deadline) }, deadline)
    }

    /// The timer loop: sleeps until the earliest deadline, expires every command past its own, and goes on while
    /// commands are pending.
    private func watchDeadlines(sleepingUntil first: ContinuousClock.Instant) async {
        var until = first
        while true {
            try? await clock.sleep(until: until)
            if Task.isCancelled { return }
            let now = clock.now
            for (id, entry) in pending.sorted(by: { $0.key < $1.key }) where entry.deadline <= now { expire(id) }
            guard let next = pending.values.map(\.deadline).min() else {
                deadlineTimer = nil
                return
            }
            until = next
            deadlineTimer?.until = next
        }
    }

    private func finish(_ id: Int64, with result: Result<JSONValue, any Error>) {
        guard let entry = pending.removeValue(forKey: id) else { return }
        var timedOut = false
        if case .failure(let error) = result, case QMPError.timeout = error { timedOut = true }
        QMPMetrics.commandFinished(
            entry.command, after: clock.now - (entry.deadline - entry.timeout), timedOut: timedOut)
        entry.continuation.resume(with: result)
    }

    private func expire(_ id: Int64) {
        guard let command = pending[id]?.command else { return }
        logger.error("QMP command timed out", metadata: ["command": "\(command)"])
        let timeout = pending[id]?.timeout ?? commandTimeout
        finish(id, with: .failure(QMPError.timeout(command: command, seconds: timeout.seconds)))
        if case .ready(let connection, _) = state, !isProbing {
            isProbing = true
            Task { await self.probe(connection) }
        }
    }

    /// After a timeout: is the engine merely slow with one command, or not answering at all? A probe that times
    /// out too drops the connection as hung (QEMU 7.2 hangs for good on some grouped transactions).
    private func probe(_ connection: QMPConnection) async {
        defer { isProbing = false }
        do {
            _ = try await send("query-version", arguments: nil, timeout: commandTimeout)
        } catch QMPError.timeout {
            lastDisconnectWasHang = true
            drop(connection, reason: "the QEMU engine stopped answering QMP")
        } catch {
            // Disconnected meanwhile, or an answer: either way not a hang.
        }
    }

    private func failGreeting(of connection: QMPConnection, seconds: Duration) {
        guard case .connecting(let current, _) = state, current === connection else { return }
        let error = QMPError.noGreeting(seconds: seconds.seconds)
        drop(connection, reason: error.description, failing: error)
    }

    /// Tears down `connection` if it is the current one: fails every waiter and emits `.disconnected` once.
    private func drop(_ connection: QMPConnection, reason: String, failing error: QMPError = .disconnected) {
        connection.close()
        let wasReady: Bool
        switch state {
        case .disconnected:
            return
        case .connecting(let current, let waiter):
            guard current === connection else { return }
            waiter?.resume(throwing: error)
            wasReady = false
        case .ready(let current, _):
            guard current === connection else { return }
            wasReady = true
        }
        state = .disconnected
        unresponsiveSince = nil
        for id in pending.keys.sorted() { finish(id, with: .failure(QMPError.disconnected)) }
        if wasReady { signals.push(.disconnected(reason: reason)) }
        let waiters = disconnectWaiters
        disconnectWaiters = []
        for waiter in waiters { waiter.resume() }
    }
}
