import Foundation
import JSON
import JobModel
import Logging
import QMP
import Store

/// Turns job requests into QMP commands and QMP events into job records.
///
/// Runs on its own actor, on a thread of its own (`ManagerThread`): it is the only writer of `book`, and it applies
/// engine signals in wire order. Reads that
/// need no engine round trip go to `book` directly, from any thread.
public actor JobManager {
    /// Runs on `ManagerThread`, so that the journal's fdatasync it waits for never blocks the cooperative pool.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        ManagerThread.shared.asUnownedSerialExecutor()
    }

    /// The records, for lock-free-of-actor reads.
    public nonisolated let book: JobBook
    let engine: any QMPExecuting
    let confinement: JobConfinement
    let status: EngineStatus
    /// The engine it drives, by name (`GET /engines`).
    public nonisolated let engineIdentity: EngineIdentity
    let logger: Logger
    /// Where records are persisted; nil keeps them in memory only (unit tests).
    let store: SnapshotStore?
    /// The write-ahead log of records and the journal of events; nil keeps no journal (unit tests).
    let eventJournal: EventJournal?
    /// Whether the data directory takes durable writes (shared with the store and the gateway's 507 check).
    public nonisolated let storage: StorageHealth
    /// The nodes to attach again when jobgate had to replace the engine (nil: none are tracked).
    let nodes: NodeCatalog?
    /// The live fan-out of events to `GET /events` streams.
    public nonisolated let events: EventHub
    /// When each live job was last read from QEMU (`refreshFromEngine`), for reads that need no new query.
    public nonisolated let samples = EngineSamples()
    /// The engine query readers wait for (`sharedRefresh`), while one is under way.
    var refreshInFlight: Task<Void, any Error>?
    /// Per job: when the last `JOB_PROGRESS` went out and with what progress (they are coalesced); dropped when the
    /// job concludes.
    var lastProgressEvent: [String: (at: Date, current: Int64)] = [:]
    let retention: RetentionPolicy
    /// When retention last ran.
    var lastPruned = Date.distantPast
    /// Changes of the batch of engine events being applied, not yet published (nil outside a batch).
    var staged: StagedChanges?
    /// Changes the journal could not take (the data directory fails): neither visible nor sent until they are
    /// durable (`retryStorage`).
    var held: StagedChanges?
    /// Requests under way, by job id: what to put in the record if an event announces the job before the reply.
    var creations: [String: (type: JobType, request: JSONValue)] = [:]
    /// Refusals of commands that may have created jobs whose events are not applied yet, by job id: the `created`
    /// that starts such a job's run marks its record refused (`JobRecord.refused`), with the request and QEMU's
    /// reason. QEMU sends those events before its refusal, but they may be applied after it is seen; an entry whose
    /// events never come (QEMU refused before creating the job) is dropped after a minute (`pollProgress`), so
    /// hostile requests cannot make the map grow without bound.
    var pendingRefusals: [String: PendingRefusal] = [:]

    struct PendingRefusal {
        var reason: String
        var type: JobType?
        var request: JSONValue?
        var noted: Date
    }

    /// - Parameters:
    ///   - policy: the image roots and driver allow-list every job's file names are held to.
    ///   - store: where records are persisted (nil: memory only).
    ///   - retention: how long and how many finished records are kept.
    ///   - events: the fan-out to event streams, with the transport's encoding (`EventHub(encoding:)`).
    public init(
        engine: any QMPExecuting, policy: ImageRootPolicy, status: EngineStatus, store: SnapshotStore? = nil,
        journal: EventJournal? = nil, storage: StorageHealth = StorageHealth(dataDirectory: ""),
        retention: RetentionPolicy = RetentionPolicy(), book: JobBook = JobBook(), events: EventHub,
        nodes: NodeCatalog? = nil, descriptors: ImageDescriptors? = nil,
        engineIdentity: EngineIdentity = EngineIdentity(socketPath: "", isOwned: true), logger: Logger
    ) {
        self.engineIdentity = engineIdentity
        self.storage = storage
        self.nodes = nodes
        self.events = events
        self.engine = engine
        self.store = store
        self.eventJournal = journal
        self.retention = retention
        self.confinement = JobConfinement(
            policy: policy, nodes: NodeLookup(engine: engine),
            descriptors: descriptors ?? nodes?.descriptors ?? ImageDescriptors(engine: engine, policy: policy))
        self.status = status
        self.book = book
        self.logger = logger
        if store == nil { book.markRestored() }
    }

    /// - Throws: `JobError.starting` until `restore` has run.
    func requireRestored() throws {
        try book.requireRestored()
    }

    /// Applies engine signals until the queue finishes, in batches: what arrived while the last batch was being
    /// applied is applied, and made durable, together (see `StagedChanges`). Call once.
    public func run(signals: QMPSignalQueue) async {
        while let batch = await signals.next() {
            await apply(batch)
        }
        retryStorage()
        store?.flush()
    }

    /// `run(signals:)` for any sequence of signals (tests).
    public func run<Signals: AsyncSequence & Sendable>(signals: Signals) async
    where Signals.Element == QMPSignal, Signals.Failure == Never {
        let queue = QMPSignalQueue()
        let pump = Task {
            for await signal in signals { queue.push(signal) }
            queue.finish()
        }
        await run(signals: queue)
        await pump.value
    }

    // MARK: - Creation

    /// Creates a job of `type` with QMP arguments `arguments` (without `job-id`).
    /// - Parameter request: the client's body, kept in the record.
    /// - Throws: `JobError` (`.invalidField`, the image-root policy's refusals, `.engine(..., .create)`).
    /// - Parameter createdBy: the name of the token that asked, kept in the record as `created-by`.
    public func create(
        type: JobType, id: String, arguments: [String: JSONValue], request: JSONValue, createdBy: String? = nil
    ) async throws -> JobRecord {
        try requireRestored()
        let creation = try await CreationRequest(type, id: id, arguments: arguments, confinement: confinement)
        creations[id] = (type, request)
        pendingRefusals[id] = nil
        defer { creations[id] = nil }
        let start = Date()
        do {
            _ = try await engine.execute(creation.command, arguments: .object(creation.arguments))
        } catch let error as QMPError {
            await confinement.descriptors.abandon(creation.fdsets)
            if case .command(let refusal) = error { noteRefusal(of: [id], since: start, reason: refusal.description) }
            throw JobError.engine(EngineFailure(error), operation: .create)
        }
        if !creation.fdsets.isEmpty { confinement.descriptors.settle(creation.fdsets, forJob: id) }
        let record = try adopt(
            id, type: type, arguments: arguments, request: request, createdBy: createdBy, since: start)
        logger.info(
            "job created", metadata: ["job_id": "\(id)", "type": "\(type.rawValue)", "token": "\(createdBy ?? "-")"])
        return record
    }

    /// Makes sure job `id`, which QEMU just accepted, has a record carrying its type and request. Its events may
    /// already have made one (even run it to the end, for a quick job) since `start`, when the command was sent;
    /// otherwise this starts the new run. The record is on disk when this returns.
    /// - Throws: `JobError.storageFailing` if it could not be made durable (it is held, and written once the data
    ///   directory takes writes again).
    func adopt(
        _ id: String, type: JobType, arguments: [String: JSONValue], request: JSONValue, createdBy: String? = nil,
        since start: Date
    ) throws -> JobRecord {
        var record: JobRecord
        let isNewRun: Bool
        // `latest`, not the book: the job's events may be held back (the data directory failing), not yet visible.
        if let current = latest(id), !current.isPartial, current.status != .null || current.createdAt >= start {
            record = current
            isNewRun = false
        } else {
            record = JobRecord(id: id, type: type, status: .created, createdAt: Date())
            record.run = nextRunNumber(of: id)
            isNewRun = true
        }
        record.type = type
        record.request = request
        record.createdBy = createdBy
        // QEMU creates create/amend/snapshot-* jobs with manual dismiss and auto finalize, always.
        record.autoFinalize = record.autoFinalize ?? arguments["auto-finalize"]?.boolValue ?? true
        record.autoDismiss =
            record.autoDismiss ?? (type.isBlockJob ? arguments["auto-dismiss"]?.boolValue ?? true : false)
        let durable = isNewRun ? publishNewRun(record) : publish(record, durably: true)
        guard durable else {
            throw JobError.storageFailing(
                dataDirectory: storage.dataDirectory, reason: storage.failure?.reason ?? "unknown",
                held:
                    "QEMU created job '\(id)', but its record could not be made durable; it is kept in memory and written once the data directory takes writes again"
            )
        }
        return record
    }

    // MARK: - Verbs

    /// Applies `verb` to job `id`, with the verb's optional body (`force` for cancel, `speed` for set-speed, the
    /// change arguments for change).
    /// - Throws: `JobError`: `.unknownJob`, `.verbNotAllowed` (QEMU's table, checked here first), `.invalidField`,
    ///   `.unsupportedByEngine` (`change` before QEMU 8.2), `.engine(..., .verb)` for QEMU's own refusals.
    /// - Parameter by: the name of the token that asked; with one, the verb goes into the record's `verb-history`
    ///   (made durable with the next batch of changes, as it follows the verb's own status change).
    public func apply(_ verb: JobVerb, to id: String, body: [String: JSONValue], by principal: String? = nil)
        async throws -> JobRecord
    {
        try requireRestored()
        let request = try VerbRequest(
            verb, to: id, body: body, record: book.record(id), engine: status.snapshot.version)
        let (command, arguments, record) = (request.command, request.arguments, request.record)
        do {
            _ = try await engine.execute(command, arguments: arguments)
        } catch QMPError.command(let refusal) where verb == .dismiss && refusal.description == "Job not found" {
            // A concluded record whose engine is gone (see `closeAfterVanishing`): dismissing it only closes it.
            change(id, durably: true) { $0.enter(.null, at: Date()) }
        } catch let error as QMPError {
            throw JobError.engine(EngineFailure(error), operation: .verb(verb, id: id))
        }
        if verb == .setSpeed, let speed = body["speed"]?.intValue {
            change(id, durably: false) { $0.speed = speed }
        }
        if let principal {
            let entry = JobRecord.VerbEntry(verb: verb.rawValue, by: principal, at: Date())
            change(id, durably: false) { $0.verbHistory.append(entry) }
        }
        logger.info(
            "job verb applied",
            metadata: ["job_id": "\(id)", "verb": "\(verb.rawValue)", "token": "\(principal ?? "-")"])
        return book.record(id) ?? record
    }
}
