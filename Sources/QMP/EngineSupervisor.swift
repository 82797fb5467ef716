import JobModel
import Logging
import ServiceLifecycle

/// Keeps jobgate connected to a QEMU engine for as long as it runs.
///
/// With an owned engine it first re-attaches to a live engine left by an earlier jobgate (socket and pid file in
/// the data dir) and starts a new one only if none answers; with an external engine (`--qmp-socket`) it only
/// connects, and never starts or stops anything. A lost connection is retried with backoff.
public actor EngineSupervisor: Service {
    /// Where the engine comes from.
    public enum Mode: Sendable {
        case owned(EngineHost, stopOnExit: Bool)
        case external(socketPath: String)
    }

    /// How often a connected engine is probed, how long a probe may take, and how long the engine may stay
    /// silent before it is taken for hung (dropped; killed and replaced when jobgate owns it).
    public struct Liveness: Sendable {
        public var interval: Duration = .seconds(1)
        public var timeout: Duration = .seconds(2)
        public var hangAfter: Duration = .seconds(30)
        public init() {}
    }

    private let mode: Mode
    private let liveness: Liveness
    private let client: QMPClient
    private let status: EngineStatus
    private let logger: Logger
    /// What the reconnect backoff and the liveness probes' interval are measured by.
    private let clock: any TimerClock
    private var isShuttingDown = false
    /// Why the next engine jobgate starts replaces the previous one, when jobgate itself ended it.
    private var pendingReplacementReason: String?
    /// Whether an engine ever answered: a start after that is a restart (`jobgate_engine_restarts_total`).
    private var hasConnected = false

    public init(
        mode: Mode, client: QMPClient, status: EngineStatus, liveness: Liveness = Liveness(),
        clock: any TimerClock = SystemClock(), logger: Logger
    ) {
        self.clock = clock
        self.mode = mode
        self.liveness = liveness
        self.client = client
        self.status = status
        self.logger = logger
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await superviseUntilShutdown()
        } onGracefulShutdown: {
            Task { await self.beginShutdown() }
        }
        await client.finish()
        if case .owned(let host, stopOnExit: true) = mode {
            await host.stop()
        }
    }

    private func beginShutdown() async {
        isShuttingDown = true
        await client.disconnect()
    }

    private func superviseUntilShutdown() async {
        var backoff = Duration.milliseconds(200)
        while !isShuttingDown && !Task.isCancelled {
            do {
                let greeting = try await connectOnce()
                if isShuttingDown {
                    await client.disconnect()
                    break
                }
                status.markConnected(greeting)
                logger.info(
                    "QEMU engine connected",
                    metadata: ["version": "\(greeting.version)", "package": "\(greeting.package)"])
                backoff = .milliseconds(200)
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { [client] in await client.waitUntilDisconnected() }
                    group.addTask { [client, status, liveness, clock] in
                        await Self.watch(client, status: status, liveness: liveness, clock: clock)
                    }
                    await group.next()
                    group.cancelAll()
                }
                status.markDisconnected("the QMP connection was lost")
                if await client.lastDisconnectWasHang { await replaceHungEngine() }
                if !isShuttingDown { logger.warning("QEMU engine connection lost; reconnecting") }
            } catch {
                status.markDisconnected("\(error)")
                logger.error("QEMU engine unavailable", metadata: ["error": "\(error)"])
            }
            if isShuttingDown { break }
            try? await clock.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    /// Probes the engine every `liveness.interval` until cancelled, keeping `status` told whether it answers
    /// (`/readyz` is 503 while it does not; commands fail fast). The client drops a connection that stays silent for
    /// `liveness.hangAfter`.
    private static func watch(
        _ client: QMPClient, status: EngineStatus, liveness: Liveness, clock: any TimerClock
    ) async {
        while !Task.isCancelled {
            try? await clock.sleep(for: liveness.interval)
            if Task.isCancelled { return }
            status.markSilent(for: await client.probeLiveness(timeout: liveness.timeout, hangAfter: liveness.hangAfter))
        }
    }

    /// An engine that stopped answering QMP is killed (owned engines only), so the next attempt starts a new one.
    private func replaceHungEngine() async {
        guard case .owned(let host, _) = mode else {
            logger.error("the external QEMU stopped answering QMP; reconnecting, nothing else jobgate can do")
            return
        }
        logger.error(
            "the QEMU engine stopped answering QMP; killing it",
            metadata: ["pid": "\(host.runningPID().map(String.init) ?? "unknown")"])
        await host.stop(grace: .seconds(1))
        pendingReplacementReason = "the QEMU engine stopped answering QMP and was killed"
    }

    /// One attempt: attach to whatever answers on the socket, else (owned engines) start a fresh engine.
    private func connectOnce() async throws -> QMPGreeting {
        switch mode {
        case .external(let socketPath):
            status.noteEngine(replacedBecause: nil)
            return try await client.connect(socketPath: socketPath)
        case .owned(let host, _):
            do {
                // An engine jobgate started (or killed) and has not been connected to since is still a
                // replacement: a first connect that failed after the start must not make it look re-attached.
                status.noteEngine(replacedBecause: pendingReplacementReason)
                let greeting = try await client.connect(socketPath: host.socketPath)
                if pendingReplacementReason == nil {
                    logger.info(
                        "attached to running QEMU engine",
                        metadata: ["pid": "\(host.runningPID().map(String.init) ?? "unknown")"])
                }
                pendingReplacementReason = nil
                hasConnected = true
                return greeting
            } catch QMPError.connectFailed {
                if let stale = host.runningPID() {
                    logger.warning(
                        "engine process does not answer on its socket; replacing it", metadata: ["pid": "\(stale)"])
                    await host.stop(grace: .seconds(2))
                }
                try await host.start()
                if hasConnected { QMPMetrics.engineReplaced() }
                pendingReplacementReason = pendingReplacementReason ?? "the QEMU engine exited"
                status.noteEngine(replacedBecause: pendingReplacementReason)
                let greeting = try await client.connect(socketPath: host.socketPath)
                pendingReplacementReason = nil
                hasConnected = true
                return greeting
            }
        }
    }
}
