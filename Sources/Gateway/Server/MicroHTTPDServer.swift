internal import CMicroHTTPD
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A request whose answer a Swift task produces while its connection is suspended.
struct DeferredRequest: Sendable {
    let box: ConnectionBox
    let work: @Sendable () async -> Response
}

/// What the libmicrohttpd callbacks reach through their `cls` pointer.
final class ServerContext: Sendable {
    let responder: Responder
    let bodyLimit: Int
    let bodyBudget: BodyBudget
    let connections: ConnectionRegistry
    /// Connections suspended and not called back yet: what shutdown waits for before stopping the daemon.
    let suspended = ConnectionCount()
    /// Event-stream responses libmicrohttpd still holds: what shutdown waits for so that ended streams reach their
    /// clients' whole (their last chunk sent) before the daemon closes the sockets.
    let streaming = ConnectionCount()

    private struct Work {
        var accepting = true
        var running = 0
        /// Waiting for `running` to reach 0 once `accepting` is false.
        var drained: CheckedContinuation<Void, Never>?
        /// Waiting for `finish`.
        var finished: CheckedContinuation<Void, Never>?
    }

    private let work = Mutex(Work())

    init(responder: Responder, bodyLimit: Int, bodyBudget: Int, connections: ConnectionRegistry) {
        self.connections = connections
        self.responder = responder
        self.bodyLimit = bodyLimit
        self.bodyBudget = BodyBudget(limit: bodyBudget)
    }

    /// Starts a task for a deferred request at once (one wake-up between the libmicrohttpd thread and the
    /// handler, no hop through a queue), counted so that shutdown can wait for it. Called on a libmicrohttpd
    /// thread; never blocks. After shutdown began, the request is answered 503 at once.
    func submit(_ request: DeferredRequest) {
        let accepted = work.withLock { work -> Bool in
            guard work.accepting else { return false }
            work.running += 1
            return true
        }
        guard accepted else {
            request.box.complete(with: Problem.shuttingDown().response(instance: ""))
            return
        }
        Task {
            request.box.complete(with: await request.work())
            work.withLock { work -> CheckedContinuation<Void, Never>? in
                work.running -= 1
                guard work.running == 0, !work.accepting else { return nil }
                defer { work.drained = nil }
                return work.drained
            }?.resume()
        }
    }

    /// Takes no more deferred requests. Idempotent.
    func finish() {
        work.withLock { work -> CheckedContinuation<Void, Never>? in
            work.accepting = false
            defer { work.finished = nil }
            return work.finished
        }?.resume()
    }

    /// Returns once `finish` was called.
    func waitUntilFinished() async {
        await withCheckedContinuation { continuation in
            let now = work.withLock { work -> Bool in
                guard work.accepting else { return true }
                work.finished = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Returns once every deferred request taken has been answered (call after `finish`).
    func waitUntilDrained() async {
        await withCheckedContinuation { continuation in
            let now = work.withLock { work -> Bool in
                guard work.running > 0 else { return true }
                work.drained = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// The HTTP server: libmicrohttpd with an epoll thread pool and suspend/resume, running each deferred handler as
/// a task of its own, started from the libmicrohttpd thread and counted by the server.
///
/// Graceful shutdown: stop taking deferred work, let the running handlers finish (each ends by resuming its
/// connection), then stop the daemon, so it never stops with a suspended connection (which aborts the process).
public final class MicroHTTPDServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// An IPv4 or IPv6 literal.
        public var host: String
        /// 0 picks a free port; see `start()`'s result.
        public var port: UInt16
        public var threadPoolSize: Int
        /// Open connections at most, event streams included; more are closed at once when they arrive.
        public var connectionLimit: Int = 4000
        /// Open connections from one client address at most (libmicrohttpd closes more at once).
        public var connectionsPerAddress: Int = 1024
        /// How long a connection may take to send a request's headers and body (and may stay idle between
        /// requests) before it is dropped; requests being handled and event streams are exempt.
        public var requestDeadline: Duration = .seconds(10)
        /// Request bodies larger than this are refused with 413.
        public var bodyLimit: Int = 1 << 20
        /// Request bodies buffered across all connections at most; a request whose body would pass it gets 503.
        public var bodyBudget: Int = 64 << 20
        /// Idle keep-alive connections are closed after this many seconds.
        public var connectionTimeoutSeconds: Int = 60
        /// PEM private key and certificate chain: serve HTTPS (libmicrohttpd's TLS); nil serves plain HTTP.
        /// `TLSCredentials.install` replaces it while the server runs.
        public var tls: TLSMaterial?

        public init(host: String, port: UInt16, threadPoolSize: Int = ProcessInfo.processInfo.activeProcessorCount) {
            self.host = host
            self.port = port
            self.threadPoolSize = max(1, threadPoolSize)
        }
    }

    /// A PEM key and certificate chain, as read from `--tls-key` and `--tls-cert`.
    public struct TLSMaterial: Sendable {
        public var key: String
        public var certificate: String
        public init(key: String, certificate: String) {
            self.key = key
            self.certificate = certificate
        }
    }

    /// Safe because the pointers are only used under the mutex and by libmicrohttpd, which is thread-safe for
    /// them. `key` and `certificate` are C copies libmicrohttpd reads for as long as the daemon runs.
    private struct DaemonHandle: @unchecked Sendable {
        let raw: OpaquePointer
    }

    /// libmicrohttpd's memory per connection (its own default is 32 KiB), raised so that request lines and headers
    /// up to about this size reach jobgate, which refuses them beyond its own, lower limits with problem+json
    /// (`RequestLimits`); only larger ones get libmicrohttpd's own 414/431 text. Committed as used.
    static let connectionMemory = 128 << 10

    private let configuration: Configuration
    private let logger: Logger
    private let context: ServerContext
    private let daemon = Mutex<DaemonHandle?>(nil)
    private let endStreams: @Sendable () -> Void

    /// - Parameter endStreams: ends every open event stream and refuses new ones (`EventHub.closeAll`); called
    ///   when shutdown begins, since libmicrohttpd must not be stopped while a stream's connection is suspended.
    public init(
        configuration: Configuration, responder: Responder, logger: Logger,
        endStreams: @escaping @Sendable () -> Void = {}
    ) {
        self.configuration = configuration
        self.logger = logger
        self.endStreams = endStreams
        self.context = ServerContext(
            responder: responder, bodyLimit: configuration.bodyLimit, bodyBudget: configuration.bodyBudget,
            connections: ConnectionRegistry(
                limit: configuration.connectionLimit, deadline: configuration.requestDeadline))
    }

    /// Binds and starts serving.
    /// - Returns: the port bound (useful with port 0).
    /// - Throws: `ServerError.startFailed` if the address does not parse or the port is taken;
    ///   `TLSCredentialsError` for a TLS key and certificate GnuTLS cannot use.
    @discardableResult
    public func start() throws -> UInt16 {
        try daemon.withLock { handle in
            if let handle { return cmhd_bound_port(handle.raw) }
            let flags = MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
            // Safe because the context is retained here and released once, after MHD_stop_daemon.
            let cls = Unmanaged.passRetained(context).toOpaque()
            if let tls = configuration.tls { try TLSCredentials.install(tls) }
            guard
                let raw = cmhd_start_daemon(
                    flags, configuration.host, configuration.port, cmhdAccessHandler, cls, cmhdRequestCompleted, cls,
                    cmhdAcceptPolicy, cmhdNotifyConnection, UInt32(configuration.threadPoolSize),
                    // libmicrohttpd's own limit stays above jobgate's, so it never stops accepting (which would
                    // leave new clients waiting in the backlog) before jobgate's accept policy refuses them.
                    UInt32(configuration.connectionLimit + 64), UInt32(configuration.connectionsPerAddress),
                    UInt32(configuration.connectionTimeoutSeconds), Self.connectionMemory,
                    configuration.tls == nil ? nil : TLSCredentials.callback)
            else {
                Unmanaged<ServerContext>.fromOpaque(cls).release()
                throw ServerError.startFailed(
                    host: configuration.host, port: configuration.port, tls: configuration.tls != nil)
            }
            handle = DaemonHandle(raw: raw)
            context.connections.startSweeping()
            return cmhd_bound_port(raw)
        }
    }

    /// Serves until graceful shutdown (or cancellation), then drains and stops the daemon.
    public func run() async throws {
        try start()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await context.waitUntilFinished()
            } onCancel: {
                self.endStreams()
                self.context.finish()
            }
        } onGracefulShutdown: {
            self.endStreams()
            self.context.finish()
        }
        await context.waitUntilDrained()
        stop()
    }

    /// Stops the daemon. Every deferred request has been answered and every event stream ended by now; it waits
    /// until libmicrohttpd has called back every connection it resumed (stopping it with a suspended connection
    /// aborts the process).
    private func stop() {
        endStreams()
        guard let handle = daemon.withLock({ $0.take() }) else { return }
        context.connections.stop()
        if !context.suspended.waitUntilNone(timeout: .seconds(5)) {
            logger.warning(
                "connections still suspended at shutdown", metadata: ["connections": "\(context.suspended.count)"])
        }
        // A client that stopped reading cannot hold shutdown up for long.
        if !context.streaming.waitUntilNone(timeout: .seconds(2)) {
            logger.notice(
                "event streams not finished sending at shutdown; their connections are closed",
                metadata: ["streams": "\(context.streaming.count)"])
        }
        MHD_stop_daemon(handle.raw)
        Unmanaged.passUnretained(context).release()
        logger.info("HTTP server stopped")
    }
}

/// Why the HTTP server could not start.
public enum ServerError: Error, CustomStringConvertible {
    case startFailed(host: String, port: UInt16, tls: Bool)

    public var description: String {
        switch self {
        case .startFailed(let host, let port, let tls):
            "cannot listen on \(host):\(port)\(tls ? " with TLS" : "") (address in use, or not an IP address literal)"
        }
    }
}
