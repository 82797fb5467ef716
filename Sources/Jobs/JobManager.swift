import Foundation
import JobModel
import Logging
import QMP

/// Turns job requests into QMP commands and QMP events into job records.
///
/// Runs on its own actor: it is the only writer of `book`, and it applies engine signals in wire order. Reads that
/// need no engine round trip go to `book` directly, from any thread.
public actor JobManager {
    /// The records, for lock-free-of-actor reads.
    public nonisolated let book: JobBook
    let engine: any QMPExecuting
    let confinement: JobConfinement
    let status: EngineStatus
    let logger: Logger
    /// Requests under way, by job id: what to put in the record if an event announces the job before the reply.
    var creations: [String: (type: JobType, request: JSONValue)] = [:]
    /// Jobs QEMU created and rolled back inside a command it then refused: their remaining events are ignored
    /// until `null`, so a refused request leaves no record behind.
    var refusedCreations: Set<String> = []

    /// - Parameter policy: the image roots and driver allow-list every job's file names are held to.
    public init(
        engine: any QMPExecuting, policy: ImageRootPolicy, status: EngineStatus, book: JobBook = JobBook(),
        logger: Logger
    ) {
        self.engine = engine
        self.confinement = JobConfinement(policy: policy, nodes: NodeLookup(engine: engine))
        self.status = status
        self.book = book
        self.logger = logger
    }

    /// Applies engine signals until the sequence ends. Call once.
    public func run(signals: some AsyncSequence<QMPSignal, Never>) async {
        for await signal in signals {
            switch signal {
            case .connected: await reconcile()
            case .event(let event): apply(event)
            case .disconnected: break
            }
        }
    }

    // MARK: - Creation

    /// Creates a job of `type` with QMP arguments `arguments` (without `job-id`).
    /// - Parameter request: the client's body, kept in the record.
    /// - Throws: `JobError` (`.invalidField`, the image-root policy's refusals, `.engine(..., .create)`).
    public func create(type: JobType, id: String, arguments: [String: JSONValue], request: JSONValue) async throws
        -> JobRecord
    {
        let command = JobCommand.command(for: type)
        guard JobCommand.isWellFormedID(id) else {
            throw JobError.invalidField(field: "id", detail: "Invalid job ID '\(id)'")
        }
        try command.schema.validate(arguments)
        var qmpArguments = try await confinement.confine(type, arguments)
        qmpArguments["job-id"] = .string(id)
        creations[id] = (type, request)
        refusedCreations.remove(id)
        defer { creations[id] = nil }
        let start = Date()
        do {
            _ = try await engine.execute(command.command, arguments: .object(qmpArguments))
        } catch let error as QMPError {
            if case .command = error { discardRefusedCreations([id], since: start) }
            throw JobError.engine(error, operation: .create)
        }
        let record = adopt(id, type: type, arguments: arguments, request: request)
        logger.info("job created", metadata: ["job_id": "\(id)", "type": "\(type.rawValue)"])
        return record
    }

    /// Makes sure job `id`, which QEMU just accepted, has a fresh record carrying its type and request (events
    /// may or may not have created one already).
    func adopt(_ id: String, type: JobType, arguments: [String: JSONValue], request: JSONValue) -> JobRecord {
        let now = Date()
        return book.update(id) { record in
            var current =
                record.flatMap { $0.status == .null ? nil : $0 }
                ?? JobRecord(id: id, type: type, status: .created, createdAt: now)
            current.type = type
            current.request = request
            // QEMU creates create/amend/snapshot-* jobs with manual dismiss and auto finalize, always.
            current.autoFinalize = current.autoFinalize ?? arguments["auto-finalize"]?.boolValue ?? true
            current.autoDismiss =
                current.autoDismiss ?? (type.isBlockJob ? arguments["auto-dismiss"]?.boolValue ?? true : false)
            record = current
        }!
    }

    // MARK: - Verbs

    /// Applies `verb` to job `id`, with the verb's optional body (`force` for cancel, `speed` for set-speed, the
    /// change arguments for change).
    /// - Throws: `JobError`: `.unknownJob`, `.verbNotAllowed` (QEMU's table, checked here first), `.invalidField`,
    ///   `.unsupportedByEngine` (`change` before QEMU 8.2), `.engine(..., .verb)` for QEMU's own refusals.
    public func apply(_ verb: JobVerb, to id: String, body: [String: JSONValue]) async throws -> JobRecord {
        guard let record = book.record(id), record.status != .null else { throw JobError.unknownJob(id) }
        let (command, arguments) = try qmpCommand(for: verb, record: record, body: body)
        do {
            _ = try await engine.execute(command, arguments: arguments)
        } catch QMPError.command(let refusal) where verb == .dismiss && refusal.description == "Job not found" {
            // A concluded record whose engine is gone (see `closeAfterVanishing`): dismissing it only closes it.
            book.update(id) { $0?.enter(.null, at: Date()) }
        } catch let error as QMPError {
            throw JobError.engine(error, operation: .verb(verb, id: id))
        }
        if verb == .setSpeed, let speed = body["speed"]?.intValue {
            book.update(id) { $0?.speed = speed }
        }
        logger.info("job verb applied", metadata: ["job_id": "\(id)", "verb": "\(verb.rawValue)"])
        return book.record(id) ?? record
    }

    /// The QMP command for `verb`, after jobgate's own checks.
    private func qmpCommand(for verb: JobVerb, record: JobRecord, body: [String: JSONValue]) throws -> (
        String, JSONValue
    ) {
        let id = JSONValue.string(record.id)
        let softCancel = verb == .cancel && body["force"]?.boolValue == false
        // QEMU checks "Can't resume a job that was not paused" and the soft-cancel "currently paused" refusal
        // before its verb table; let QEMU answer those so the text is QEMU's.
        if verb != .resume && !softCancel && !verb.isAllowed(in: record.status) {
            throw JobError.verbNotAllowed(id: record.id, verb: verb, status: record.status)
        }
        switch verb {
        case .pause, .resume, .complete, .finalize, .dismiss:
            try ArgumentSchema(fields: [:], required: []).validate(body)
            return ("job-\(verb.rawValue)", ["id": id])
        case .cancel:
            try ArgumentSchema(fields: ["force": .boolean], required: []).validate(body)
            guard softCancel else { return ("job-cancel", ["id": id]) }
            try requireBlockJob(record, verb)
            return ("block-job-cancel", ["device": id, "force": false])
        case .setSpeed:
            try ArgumentSchema(fields: ["speed": .integer(minimum: 0)], required: ["speed"]).validate(body)
            try requireBlockJob(record, verb)
            return ("block-job-set-speed", ["device": id, "speed": body["speed"]!])
        case .change:
            let version = status.snapshot.version
            guard let version, version >= QEMUVersion.blockJobChange else {
                throw JobError.unsupportedByEngine(
                    feature: "the 'change' verb (block-job-change)", version: version, since: .blockJobChange)
            }
            try requireBlockJob(record, verb)
            try ArgumentSchema(
                fields: ["copy-mode": .oneOf(["background", "write-blocking"])], required: ["copy-mode"]
            )
            .validate(body)
            var arguments = body
            arguments["id"] = id
            arguments["type"] = .string(record.type?.rawValue ?? "mirror")
            return ("block-job-change", .object(arguments))
        }
    }

    private func requireBlockJob(_ record: JobRecord, _ verb: JobVerb) throws {
        guard record.type?.isBlockJob ?? true else {
            throw JobError.notABlockJob(id: record.id, type: record.type, verb: verb)
        }
    }

    // MARK: - Reads with a round trip

    /// Refreshes job `id` from `query-jobs` and `query-block-jobs` and returns the record.
    /// - Throws: `JobError.unknownJob`; engine trouble is not an error here: the stored record is returned.
    public func refresh(_ id: String) async throws -> JobRecord {
        guard book.record(id) != nil else { throw JobError.unknownJob(id) }
        if let record = book.record(id), record.status != .null {
            do {
                try await refreshFromEngine(only: id)
            } catch {
                logger.debug("refresh from engine failed; answering from the record", metadata: ["error": "\(error)"])
            }
        }
        return book.record(id)!
    }

    /// Copies progress and block-job fields from the engine into the records (all jobs, or only `id`).
    /// Statuses are left to events, which are ordered; a query answer may be older than the last event applied.
    private func refreshFromEngine(only id: String? = nil) async throws {
        let jobs = try await engine.execute("query-jobs", arguments: nil).arrayValue ?? []
        let blockJobs = try await engine.execute("query-block-jobs", arguments: nil).arrayValue ?? []
        for info in jobs {
            guard let jobID = info["id"]?.stringValue, id == nil || jobID == id else { continue }
            book.update(jobID) { record in
                guard record != nil, record?.status != .null else { return }
                record?.apply(jobInfo: info)
            }
        }
        for info in blockJobs {
            guard let jobID = info["device"]?.stringValue, id == nil || jobID == id else { continue }
            book.update(jobID) { record in
                guard record != nil, record?.status != .null else { return }
                record?.apply(blockJobInfo: info)
            }
        }
    }

    /// After (re)connecting: adopt every job the engine has, refresh them, and close the records of jobs that
    /// are gone from it.
    private func reconcile() async {
        do {
            let jobs = try await engine.execute("query-jobs", arguments: nil).arrayValue ?? []
            let now = Date()
            var live = Set<String>()
            for info in jobs {
                guard let id = info["id"]?.stringValue,
                    let status = info["status"]?.stringValue.flatMap(JobStatus.init(rawValue:))
                else { continue }
                live.insert(id)
                book.update(id) { record in
                    if record == nil || record?.status == .null {
                        record = JobRecord(id: id, type: nil, status: status, createdAt: now)
                    }
                    record?.enter(status, at: now)
                    record?.apply(jobInfo: info)
                }
            }
            let replacedBecause = status.snapshot.replacedEngineBecause
            for record in book.all() where !live.contains(record.id) && record.status != .null {
                book.update(record.id) { record in
                    record?.closeAfterVanishing(engineReplacedBecause: replacedBecause, at: now)
                }
                logger.warning(
                    "job vanished from the engine",
                    metadata: ["job_id": "\(record.id)", "engine_replaced": "\(replacedBecause ?? "no")"])
            }
            try await refreshFromEngine()
            logger.info("reconciled with the engine", metadata: ["live_jobs": "\(live.count)"])
        } catch {
            logger.error("reconciling with the engine failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Events

    private func apply(_ event: QMPEvent) {
        let data = event.data
        switch event.name {
        case "JOB_STATUS_CHANGE":
            guard let id = data["id"]?.stringValue,
                let next = data["status"]?.stringValue.flatMap(JobStatus.init(rawValue:))
            else { return }
            apply(status: next, to: id, at: event.timestamp)
        case "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_READY":
            guard let id = data["device"]?.stringValue else { return }
            book.update(id) { record in
                guard record != nil else { return }
                if let offset = data["offset"]?.intValue { record?.currentProgress = offset }
                if let length = data["len"]?.intValue { record?.totalProgress = length }
                if let speed = data["speed"]?.intValue { record?.speed = speed }
                if let error = data["error"]?.stringValue { record?.error = error }
                if event.name == "BLOCK_JOB_CANCELLED" && record?.error == nil { record?.error = "Operation canceled" }
                record?.updatedAt = event.timestamp
            }
        case "BLOCK_JOB_ERROR":
            guard let id = data["device"]?.stringValue else { return }
            book.update(id) { record in
                record?.lastIOError = JobRecord.IOErrorReport(
                    operation: data["operation"]?.stringValue ?? "", action: data["action"]?.stringValue ?? "",
                    at: event.timestamp)
            }
        default:
            break
        }
    }

    /// Forgets jobs that a refused command created and rolled back (QEMU emits created ... null for them), whether
    /// their events were applied already or are still to come.
    func discardRefusedCreations(_ ids: [String], since start: Date) {
        for id in ids {
            let record = book.record(id)
            if let record, record.createdAt >= start {
                book.remove(id)
                if record.status != .null { refusedCreations.insert(id) }
            } else if record == nil || record?.status == .null {
                // Its events, if QEMU created it at all, are still to come; a later creation of the id clears this.
                refusedCreations.insert(id)
            }
        }
    }

    private func apply(status next: JobStatus, to id: String, at time: Date) {
        if refusedCreations.contains(id) {
            if next == .null { refusedCreations.remove(id) }
            return
        }
        let creation = creations[id]
        book.update(id) { record in
            if record == nil || (record?.status == .null && next == .created) {
                record = JobRecord(id: id, type: creation?.type, status: next, createdAt: time)
                record?.request = creation?.request
                return
            }
            if let current = record?.status, !current.canTransition(to: next), current != next {
                logger.warning(
                    "status change outside QEMU's transition table",
                    metadata: ["job_id": "\(id)", "from": "\(current.rawValue)", "to": "\(next.rawValue)"])
            }
            record?.enter(next, at: time)
        }
    }
}
