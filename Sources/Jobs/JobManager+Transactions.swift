import Foundation
import JSON
import JobModel
import QMP

extension JobManager {
    /// The body of `POST /transactions`.
    static let transactionSchema = ArgumentSchema(
        fields: [
            "actions": .array,
            "properties": .nested(
                ArgumentSchema(fields: ["completion-mode": .oneOf(["individual", "grouped"])], required: [])),
        ],
        required: ["actions"])

    /// Runs a QMP `transaction` (all or nothing) and returns the records of the jobs it started.
    ///
    /// Checked before QEMU sees it: every action's type and data, file names against the image roots, backup
    /// job ids. `grouped` mode is refused up front where QEMU 7.2 would fail late: with a non-backup action
    /// (QEMU 8.1+ refuses that shape itself, in lower case), and, with two or more backup actions, with a node that
    /// does not exist, because a late failure there hangs QEMU 7.2's QMP for good (its rollback of the job
    /// transaction waits for itself; `TransactionTests.groupedHang` shows it). A
    /// hang that still happens is caught by the QMP timeout: the engine is restarted and the jobs are recorded
    /// as ended with it.
    /// - Throws: `JobError` (`.invalidField`, `.transactionRefused`, policy refusals, `.engine(..., .create)`).
    /// - Parameter createdBy: the name of the token that asked, kept in each new job's record.
    public func runTransaction(_ body: [String: JSONValue], createdBy: String? = nil) async throws -> [JobRecord] {
        try requireRestored()
        try Self.transactionSchema.validate(body)
        let grouped = body["properties"]?["completion-mode"]?.stringValue == "grouped"
        var actions: [(kind: TransactionAction, data: [String: JSONValue])] = []
        for (index, value) in (body["actions"]?.arrayValue ?? []).enumerated() {
            actions.append(try await checkedAction(value, field: "actions[\(index)]"))
        }
        let jobIDs = actions.compactMap { $0.kind.createsJob ? $0.data["job-id"]?.stringValue : nil }
        try checkJobIDs(jobIDs)
        if grouped { try await checkGroupedShape(actions) }
        try await checkBitmapsToEnable(actions)

        for id in jobIDs { pendingRefusals[id] = nil }
        for (kind, data) in actions where kind.createsJob {
            creations[data["job-id"]!.stringValue!] = (
                .backup, .object(["action": .string(kind.rawValue), "data": .object(data)])
            )
        }
        defer { for id in jobIDs { creations[id] = nil } }
        let (sent, fdsets) = try await withDescriptors(actions)
        var arguments: [String: JSONValue] = ["actions": .array(sent)]
        if let properties = body["properties"] { arguments["properties"] = properties }
        let start = Date()
        do {
            _ = try await engine.execute("transaction", arguments: .object(arguments))
        } catch let error as QMPError {
            await confinement.descriptors.abandon(fdsets)
            if case .command(let refusal) = error {
                noteRefusal(of: jobIDs, since: start, reason: refusal.description)
            }
            throw JobError.engine(EngineFailure(error), operation: .create)
        }
        confinement.descriptors.settle(fdsets)
        logger.info("transaction applied", metadata: ["actions": "\(actions.count)", "jobs": "\(jobIDs)"])
        // Every job gets its record (held if the data directory fails) before a failure is reported.
        var records: [JobRecord] = []
        var failure: (any Error)?
        for (kind, data) in actions where kind.createsJob {
            guard let id = data["job-id"]?.stringValue else { continue }
            do {
                records.append(
                    try adopt(
                        id, type: .backup, arguments: data,
                        request: .object(["action": .string(kind.rawValue), "data": .object(data)]),
                        createdBy: createdBy, since: start))
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return records
    }

    /// Validates one action and confines its file names.
    private func checkedAction(_ value: JSONValue, field: String) async throws -> (
        TransactionAction, [String: JSONValue]
    ) {
        guard let object = value.objectValue else {
            throw JobError.invalidField(field: field, detail: "'\(field)' must be an object with 'type' and 'data'")
        }
        try ArgumentSchema(fields: ["type": .string, "data": .object], required: ["type"]).validate(
            object, prefix: field + ".")
        // QAPI wants `data` with every action, `abort` too (its visitor's QERR_MISSING_PARAMETER).
        guard object["data"] != nil else {
            throw JobError.inQEMUWords(
                .invalidField(field: field + ".data", detail: "'\(field).data' is required"),
                QEMUWording.missingParameter(field + ".data"))
        }
        guard let kind = TransactionAction(rawValue: object["type"]!.stringValue!) else {
            throw JobError.invalidField(
                field: field + ".type",
                detail:
                    "'\(field).type' must be one of \(TransactionAction.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        var data = object["data"]?.objectValue ?? [:]
        try kind.schema.validate(data, prefix: field + ".data.")
        if let id = data["job-id"]?.stringValue { try JobCommand.validateID(id, field: field + ".data.job-id") }
        for name in kind.fileFields {
            if let file = data[name]?.stringValue {
                let policy = confinement.policy
                data[name] = .string(
                    try await confinement.descriptors.fileSystem.run {
                        try policy.resolve(file, field: "\(field).data.\(name)")
                    })
            }
        }
        try kind.requireDescriptorSafe(data, field: field + ".data.")
        if let format = data["format"]?.stringValue, !confinement.policy.allowedDrivers.contains(format) {
            throw JobError.driverNotAllowed(
                field: field + ".data.format", driver: format, allowed: confinement.policy.allowedDrivers.sorted())
        }
        return (kind, data)
    }

    /// The actions as sent: each file an action opens or creates passed as an fdset (`ImageDescriptors`).
    /// - Returns: the actions, and the fdsets to settle or abandon with the transaction.
    private func withDescriptors(_ actions: [(kind: TransactionAction, data: [String: JSONValue])]) async throws
        -> ([JSONValue], [Int64])
    {
        var sent: [JSONValue] = []
        var fdsets: [Int64] = []
        do {
            for (index, (kind, data)) in actions.enumerated() {
                var data = data
                for name in kind.fileFields {
                    guard let file = data[name]?.stringValue else { continue }
                    let creates = data["mode"]?.stringValue != "existing"
                    let fdset = try await confinement.descriptors.pass(
                        file, field: "actions[\(index)].data.\(name)", named: file,
                        intent: creates ? .create : .existing)
                    if let fdset {
                        fdsets.append(fdset)
                        data[name] = .string("/dev/fdset/\(fdset)")
                    }
                }
                sent.append(.object(["type": .string(kind.rawValue), "data": .object(data)]))
            }
        } catch {
            await confinement.descriptors.abandon(fdsets)
            throw error
        }
        return (sent, fdsets)
    }

    /// Job ids must be distinct and not held by a live job (QEMU's `Job ID '...' already in use`).
    private func checkJobIDs(_ ids: [String]) throws {
        var seen = Set<String>()
        for id in ids {
            let live = book.record(id).map { $0.status != .null } ?? false
            guard seen.insert(id).inserted, !live else {
                let words = QEMUWording.jobIDInUse(id)
                throw JobError.inQEMUWords(.transactionRefused(words.description), words)
            }
        }
    }

    /// QEMU crashes (7.2, and still in later blockdev.c) when a transaction fails after a
    /// `block-dirty-bitmap-enable` whose bitmap was not found: `block_dirty_bitmap_enable_abort` then disables a
    /// NULL bitmap. So each bitmap to enable is looked up first, by the lookup the action itself uses
    /// (`block_dirty_bitmap_lookup`, reached through `x-debug-block-dirty-bitmap-sha256`, which changes nothing),
    /// and a failed lookup is refused with QEMU's own error, as QEMU would have answered had it not crashed.
    /// A bitmap removed by another client between the lookup and the transaction still crashes QEMU 7.2.
    /// - Throws: `JobError.engine(..., .create)` with QEMU's class and text.
    private func checkBitmapsToEnable(_ actions: [(kind: TransactionAction, data: [String: JSONValue])]) async throws {
        for (_, data) in actions.filter({ $0.kind == .blockDirtyBitmapEnable }) {
            let lookup: JSONValue = .object(["node": data["node"] ?? .null, "name": data["name"] ?? .null])
            try await engine.run("x-debug-block-dirty-bitmap-sha256", lookup, during: .create)
        }
    }

    /// The grouped-mode checks (see `runTransaction`).
    private func checkGroupedShape(_ actions: [(kind: TransactionAction, data: [String: JSONValue])]) async throws {
        // QEMU 7.2 meets its own check in each action's prepare, in order, after preparing (creating the jobs of)
        // the backup actions before it; the first non-backup action decides its words. 8.1 and later check first.
        if let other = actions.first(where: { !$0.kind.createsJob }) {
            let words: EngineRefusal
            if let version = status.snapshot.version, version >= .groupedCheckUpFront {
                words = QEMUWording.generic(
                    "Action '\(other.kind.rawValue)' does not support transaction property completion-mode = grouped")
            } else {
                words = other.kind == .abort ? QEMUWording.abortAction : QEMUWording.notGroupable(other.kind.rawValue)
            }
            throw JobError.inQEMUWords(.transactionRefused(words.description), words)
        }
        guard actions.count >= 2 else { return }
        let names = Set(try await confinement.nodes.all().compactMap { $0["node-name"]?.stringValue })
        for (index, action) in actions.enumerated() {
            let nodes = action.kind == .blockdevBackup ? ["device", "target"] : ["device"]
            for key in nodes {
                guard let node = action.data[key]?.stringValue, !names.contains(node) else { continue }
                let words = QEMUWording.cannotFindNode(node)
                throw JobError.inQEMUWords(
                    .transactionRefused(
                        "actions[\(index)]: \(words.description) (refused before QEMU: a grouped transaction that fails after creating two jobs hangs QEMU 7.2)"
                    ), words)
            }
        }
    }
}
