import ArgumentParser
import Foundation
import Gateway
import Jobs
import Logging
import QMP
import ServiceLifecycle
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// `jobgate`: the HTTP/REST gateway in front of QEMU's job engine.
@main
struct JobgateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobgate",
        abstract: "HTTP/REST gateway for QEMU's storage jobs.",
        discussion: """
            By default jobgate starts its own QEMU job host (qemu-system-<arch> -machine none) with its QMP socket \
            in the data directory, or re-attaches to the one an earlier run left behind.
            """)

    @Option(help: "Address to listen on, HOST:PORT (IPv4 or [IPv6] literal, or localhost).")
    var listen = "127.0.0.1:8080"

    @Option(help: "Directory for the QMP socket, the engine's pid file and log, and the default image root.")
    var dataDir = "./data"

    @Option(
        help:
            "Directory QEMU may open images in (repeatable; default <data-dir>/images). Relative file names resolve against the first."
    )
    var imageRoot: [String] = []

    @Option(
        help: """
            Block drivers a request may name, comma-separated; replaces the default list \
            (file,qcow2,raw,null-co). Add e.g. blkdebug for fault injection, luks for encrypted images.
            """)
    var allowDrivers = ImageRootPolicy.defaultDrivers.sorted().joined(separator: ",")

    @Flag(help: "Let requests name block devices inside an image root (default: regular files only).")
    var allowBlockDevices = false

    @Option(
        help: "QEMU program hosting the jobs: system (qemu-system-<arch> -machine none) or qsd (qemu-storage-daemon).")
    var engine: EngineHost.Kind = .system

    @Option(help: "Path of the engine binary (default: found in PATH).")
    var engineBinary: String?

    @Option(help: "Attach to this existing QMP socket instead of running an engine; jobgate never starts or stops it.")
    var qmpSocket: String?

    @Option(help: "Seconds a QMP command may take before the request fails with 504.")
    var qmpTimeout: Double = 30

    @Option(
        help:
            "Seconds between liveness probes of the engine (query-version, answered within 2 s or taken for silent; silent for --qmp-timeout: hung)."
    )
    var engineProbeInterval: Double = 1

    @Option(help: "Largest accepted request body in bytes (413 beyond).")
    var bodyLimit = 1 << 20

    @Option(
        help:
            "Bytes of request bodies buffered across all connections at most; a request whose body would pass it gets 503."
    )
    var bodyBudget = 64 << 20

    @Option(help: "HTTP worker threads (default: number of cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Drop finished job records older than this (e.g. 30d, 12h, 45m, 600s; 'forever' keeps them).")
    var retainAge = "30d"

    @Option(help: "Keep at most this many finished job records, newest first ('unlimited' keeps all).")
    var retainCount = "10000"

    @Option(help: "Seconds an event stream may stay silent before a heartbeat comment is sent (finds dead peers).")
    var sseHeartbeat: Double = 15

    @Option(help: "Live events an event stream may fall behind before it gets a resync event and is closed.")
    var sseQueue = 1024

    @Option(help: "Recent events kept for replay by Last-Event-ID (older cursors get a resync event).")
    var eventHistory = 10_000

    @Option(help: "Open HTTP connections at most, event streams included; more are closed at once.")
    var maxConnections = 4000

    @Option(help: "Open HTTP connections from one client address at most; more are closed at once.")
    var maxConnectionsPerAddress = 1024

    @Option(
        help:
            "Seconds a connection may take to send a request's headers and body, or stay idle between requests, before it is dropped (requests being handled and event streams are exempt)."
    )
    var requestDeadline: Double = 10

    @Option(
        help:
            "Seconds the file-system calls of one request in an image root may take (resolving, stat, qcow2 headers, opening) before it fails with 503 file-system-timeout."
    )
    var fileTimeout: Double = 5

    @Option(
        help:
            "File of bearer tokens, one 'TOKEN ROLE NAME' per line (ROLE: read or operate; # comments); mode 0600. SIGHUP reloads it."
    )
    var tokenFile: String?

    @Flag(help: "Listen on a non-loopback address without --token-file (anyone who reaches the port may do anything).")
    var insecureNoAuth = false

    @Option(help: "A Host header value (name, without port) clients may use besides the listen address; repeatable.")
    var allowedHost: [String] = []

    @Option(
        help: "A web origin (scheme://host[:port], exact) allowed to use jobgate from a browser (CORS); repeatable.")
    var corsOrigin: [String] = []

    @Option(help: "PEM certificate chain: serve HTTPS (with --tls-key). SIGHUP reloads both files.")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Flag(help: "Stop the engine when jobgate exits (default: leave it running so jobs continue).")
    var stopEngineOnExit = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log lines on standard error: text, or json (one object per line, for log shippers).")
    var logFormat: LogFormat = .text

    func validate() throws {
        _ = try ListenAddress(listen)
        _ = try retentionPolicy()
        guard qmpTimeout > 0 else { throw ValidationError("--qmp-timeout must be positive") }
        guard engineProbeInterval >= 0.1 else { throw ValidationError("--engine-probe-interval must be at least 0.1") }
        guard bodyLimit > 0 else { throw ValidationError("--body-limit must be positive") }
        guard bodyBudget >= bodyLimit else { throw ValidationError("--body-budget must be at least --body-limit") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        guard sseHeartbeat >= 0.1 else { throw ValidationError("--sse-heartbeat must be at least 0.1 seconds") }
        guard sseQueue > 0 else { throw ValidationError("--sse-queue must be positive") }
        guard eventHistory > 0 else { throw ValidationError("--event-history must be positive") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
        guard maxConnectionsPerAddress > 0 else {
            throw ValidationError("--max-connections-per-address must be positive")
        }
        guard requestDeadline >= 0.5 else { throw ValidationError("--request-deadline must be at least 0.5 seconds") }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard fileTimeout >= 0.1 else { throw ValidationError("--file-timeout must be at least 0.1 seconds") }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let level = logLevel
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let metrics = MetricsSetup.bootstrap()
        let logger = Logger(label: "jobgate")
        let address = try ListenAddress(listen)
        let access = try makeAccessControl(address: address, logger: logger)
        let dataDirectory = try DataDirectory.prepare(dataDir)
        let roots = try (imageRoot.isEmpty ? [dataDirectory + "/images"] : imageRoot).map(Self.makeDirectory)

        let status = EngineStatus()
        let client = QMPClient(commandTimeout: .milliseconds(Int(qmpTimeout * 1000)), logger: logger)
        let mode: EngineSupervisor.Mode =
            if let qmpSocket {
                .external(socketPath: qmpSocket)
            } else {
                .owned(
                    EngineHost(kind: engine, binary: engineBinary, dataDirectory: dataDirectory, logger: logger),
                    stopOnExit: stopEngineOnExit)
            }
        var liveness = EngineSupervisor.Liveness()
        liveness.interval = .milliseconds(Int(engineProbeInterval * 1000))
        liveness.timeout = min(.seconds(2), .milliseconds(Int(qmpTimeout * 1000)))
        liveness.hangAfter = .milliseconds(Int(qmpTimeout * 1000))
        let supervisor = EngineSupervisor(
            mode: mode, client: client, status: status, liveness: liveness, logger: logger)
        let policy = try ImageRootPolicy(
            roots: roots,
            allowedDrivers: Set(
                allowDrivers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                    !$0.isEmpty
                }), allowsBlockDevices: allowBlockDevices)
        let storage = StorageHealth(dataDirectory: dataDirectory)
        let journal = try EventJournal(dataDirectory: dataDirectory)
        let store = try SnapshotStore(dataDirectory: dataDirectory, journal: journal, health: storage, logger: logger)
        var eventConfiguration = EventHub.Configuration()
        eventConfiguration.heartbeat = .milliseconds(Int64(sseHeartbeat * 1000))
        eventConfiguration.queueLimit = sseQueue
        eventConfiguration.history = eventHistory
        let events = EventHub(configuration: eventConfiguration, encoding: ServerSentEvents())
        let descriptors = ImageDescriptors(
            engine: client, policy: policy, fileSystem: FileSystemWork(limit: .milliseconds(Int64(fileTimeout * 1000))))
        let catalog = NodeCatalog(engine: client, policy: policy, descriptors: descriptors)
        let manager = JobManager(
            engine: client, policy: policy, status: status, store: store,
            journal: journal, storage: storage, retention: try retentionPolicy(),
            book: JobBook(epoch: try store.nextEpoch()), events: events, nodes: catalog,
            engineIdentity: Self.identity(of: mode), logger: logger)

        let router = GatewayRoutes.makeRouter(
            manager: manager, catalog: catalog, secrets: SecretCatalog(engine: client),
            ledger: IdempotencyLedgerAdapter(
                ledger: try IdempotencyLedger(dataDirectory: dataDirectory, health: storage, logger: logger)),
            tickets: access.tickets, metrics: metrics)

        var serverConfiguration = MicroHTTPDServer.Configuration(
            host: address.host, port: address.port, threadPoolSize: threads)
        serverConfiguration.bodyLimit = bodyLimit
        serverConfiguration.bodyBudget = bodyBudget
        serverConfiguration.connectionLimit = maxConnections
        serverConfiguration.connectionsPerAddress = maxConnectionsPerAddress
        serverConfiguration.requestDeadline = .milliseconds(Int64(requestDeadline * 1000))
        serverConfiguration.tls = try tlsMaterial()
        Self.raiseFileLimit(to: maxConnections + 320, logger: logger)
        let server = MicroHTTPDServer(
            configuration: serverConfiguration,
            responder: Responder(
                router: router, storageRefusal: { manager.storageRefusal }, access: access, logger: logger),
            logger: logger,
            endStreams: { events.closeAll() })
        let port = try server.start()
        reloadOnHangup(access.authenticator, logger: logger)
        logger.info(
            "jobgate listening on \(tlsCert == nil ? "http" : "https")://\(address.urlHost):\(port)",
            metadata: ["data_dir": "\(dataDirectory)", "image_roots": "\(roots.joined(separator: ","))"])

        // Graceful shutdown runs in reverse order: the server drains its requests first, then the manager stops
        // applying engine signals, then the supervisor closes QMP (and stops the engine if asked to).
        let group = ServiceGroup(
            services: [supervisor, JobManagerService(manager: manager, signals: client.signals), server],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // Under systemd's Type=notify: READY=1 once /readyz would answer 200.
        let notifying = SystemdNotifier().map { notifier in
            Task { await notifier.notifyWhenReady { manager.readiness.isReady } }
        }
        defer { notifying?.cancel() }
        try await group.run()
    }
}

extension EngineHost.Kind: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--log-format`.
enum LogFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json
}
