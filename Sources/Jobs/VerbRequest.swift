import JSON
import JobModel
import QMP

/// A verb request turned into its QMP command (`JobVerb.qmpCommand`): jobgate's checks first, in the order QEMU
/// makes them where it makes them (the command exists on this QEMU; the job exists; QEMU's verb table; the body's
/// fields; the block-job-only verbs), then the command's arguments. Pure: no actor, no engine; `JobManager.apply`
/// sends what it says.
struct VerbRequest {
    let command: String
    let arguments: JSONValue
    /// The job's record as it was when the request was checked.
    let record: JobRecord

    /// - Parameters:
    ///   - record: the job's current record (nil: no such job).
    ///   - engine: the engine's QEMU version, if known.
    /// - Throws: `JobError`: `.unknownJob`, `.jobEnded`, `.verbNotAllowed`, `.invalidField`, `.notABlockJob`,
    ///   `.unsupportedByEngine` (`change` before QEMU 8.2), with QEMU's own words where QEMU would answer.
    init(_ verb: JobVerb, to id: String, body: [String: JSONValue], record: JobRecord?, engine version: QEMUVersion?)
        throws
    {
        let command = verb.qmpCommand(softCancel: verb == .cancel && body["force"]?.boolValue == false)
        // Without the command, QEMU refuses before it looks for the job.
        if verb == .change, let version, version < QEMUVersion.blockJobChange {
            throw JobError.inQEMUWords(
                .unsupportedByEngine(
                    feature: "the 'change' verb (block-job-change)", version: version, since: .blockJobChange),
                QEMUWording.commandNotFound(command))
        }
        guard let record else {
            throw JobError.inQEMUWords(.unknownJob(id), QEMUWording.jobNotFound(id, command: command))
        }
        guard record.status != .null else {
            throw JobError.jobEnded(id: id, verb: verb, qemu: QEMUWording.jobNotFound(id, command: command))
        }
        self.command = command
        self.record = record
        self.arguments = try Self.arguments(for: verb, record: record, body: body, engine: version)
    }

    /// The arguments of `verb`'s QMP command, after the checks of the verb's table and body.
    private static func arguments(
        for verb: JobVerb, record: JobRecord, body: [String: JSONValue], engine version: QEMUVersion?
    ) throws -> JSONValue {
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
            return ["id": id]
        case .cancel:
            try ArgumentSchema(fields: ["force": .boolean], required: []).validate(body)
            guard softCancel else { return ["id": id] }
            try requireBlockJob(record, verb)
            return ["device": id, "force": false]
        case .setSpeed:
            try ArgumentSchema(fields: ["speed": .speed], required: ["speed"]).validate(body)
            try requireBlockJob(record, verb)
            return ["device": id, "speed": body["speed"]!]
        case .change:
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
            return .object(arguments)
        }
    }

    private static func requireBlockJob(_ record: JobRecord, _ verb: JobVerb) throws {
        guard record.type?.isBlockJob ?? true else {
            // QEMU's block-job-* commands do not see other jobs at all: "not found" is QEMU's word for it.
            throw JobError.inQEMUWords(
                .notABlockJob(id: record.id, type: record.type, verb: verb),
                QEMUWording.jobNotFound(record.id, command: verb.qmpCommand(softCancel: verb == .cancel)))
        }
    }
}
