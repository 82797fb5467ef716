import JobModel

/// How a `POST /jobs` body of one job type becomes a QMP command (`qapi/block-core.json`, `qapi/job.json`;
/// argument names checked against QEMU 7.2's `query-qmp-schema`).
///
/// The body is `{"type": T, "id": ID, ...the command's arguments}`; `id` becomes the command's `job-id`.
public struct JobCommand: Sendable {
    public var type: JobType
    /// The QMP command that creates the job.
    public var command: String
    /// The command's arguments other than `job-id`.
    public var schema: ArgumentSchema

    /// The command for `type`; exhaustive, so a new `JobType` does not compile until it has one.
    public static func command(for type: JobType) -> JobCommand {
        switch type {
        case .backup: JobCommand(type: type, command: "blockdev-backup", schema: backupSchema)
        case .mirror: JobCommand(type: type, command: "blockdev-mirror", schema: mirrorSchema)
        case .stream: JobCommand(type: type, command: "block-stream", schema: streamSchema)
        case .commit: JobCommand(type: type, command: "block-commit", schema: commitSchema)
        case .create: JobCommand(type: type, command: "blockdev-create", schema: createSchema)
        case .amend: JobCommand(type: type, command: "x-blockdev-amend", schema: amendSchema)
        case .snapshotSave: JobCommand(type: type, command: "snapshot-save", schema: snapshotSchema)
        case .snapshotLoad: JobCommand(type: type, command: "snapshot-load", schema: snapshotSchema)
        case .snapshotDelete: JobCommand(type: type, command: "snapshot-delete", schema: snapshotDeleteSchema)
        }
    }

    static let errorPolicy = ArgumentSchema.Kind.oneOf(["report", "ignore", "enospc", "stop", "auto"])
    static let syncMode = ArgumentSchema.Kind.oneOf(["top", "full", "none", "incremental", "bitmap"])
    static let preallocation = ArgumentSchema.Kind.oneOf(["off", "metadata", "falloc", "full"])

    /// Fields every block job takes.
    static let blockJobFields: [String: ArgumentSchema.Kind] = [
        "device": .string, "speed": .speed, "auto-finalize": .boolean, "auto-dismiss": .boolean,
        "filter-node-name": .string,
    ]

    /// `blockdev-backup` (`BlockdevBackup`).
    static let backupSchema = ArgumentSchema(
        fields: blockJobFields.merging([
            "target": .string, "sync": syncMode, "bitmap": .string,
            "bitmap-mode": .oneOf(["on-success", "never", "always"]), "compress": .boolean,
            "on-source-error": errorPolicy, "on-target-error": errorPolicy, "x-perf": .object,
        ]) { $1 },
        required: ["device", "target", "sync"])

    /// `blockdev-mirror` (`BlockdevMirror`).
    static let mirrorSchema = ArgumentSchema(
        fields: blockJobFields.merging([
            "target": .string, "replaces": .string, "sync": syncMode, "granularity": .integer(minimum: 512),
            "buf-size": .integer(minimum: 1), "on-source-error": errorPolicy, "on-target-error": errorPolicy,
            "copy-mode": .oneOf(["background", "write-blocking"]),
        ]) { $1 },
        required: ["device", "target", "sync"])

    /// `block-stream`. `backing-file` is a file name QEMU writes into the image: confined like any other.
    static let streamSchema = ArgumentSchema(
        fields: blockJobFields.merging([
            "base": .string, "base-node": .string, "backing-file": .string, "bottom": .string, "on-error": errorPolicy,
        ]) { $1 },
        required: ["device"])

    /// `block-commit`. `backing-file` is confined as for stream.
    static let commitSchema = ArgumentSchema(
        fields: blockJobFields.merging([
            "base-node": .string, "base": .string, "top-node": .string, "top": .string, "backing-file": .string,
            "on-error": errorPolicy,
        ]) { $1 },
        required: ["device"])

    /// `blockdev-create`: `options` is `BlockdevCreateOptions`, a union on `driver` (file, qcow2, luks here).
    static let createSchema = ArgumentSchema(
        fields: [
            "options": .union(
                tag: "driver",
                [
                    "file": ArgumentSchema(
                        fields: [
                            "filename": .string, "size": .integer(minimum: 0), "preallocation": preallocation,
                            "nocow": .boolean, "extent-size-hint": .integer(minimum: 0),
                        ],
                        required: ["filename", "size"]),
                    "qcow2": ArgumentSchema(
                        fields: [
                            "file": .nodeReference, "data-file": .nodeReference, "data-file-raw": .boolean,
                            "extended-l2": .boolean, "size": .integer(minimum: 0), "version": .oneOf(["v2", "v3"]),
                            "backing-file": .string, "backing-fmt": .string, "encrypt": .object,
                            "cluster-size": .integer(minimum: 512), "preallocation": preallocation,
                            "lazy-refcounts": .boolean, "refcount-bits": .integer(minimum: 1),
                            "compression-type": .oneOf(["zlib", "zstd"]),
                        ],
                        required: ["file", "size"]),
                    "luks": ArgumentSchema(
                        fields: [
                            "file": .nodeReference, "key-secret": .string, "cipher-alg": .string,
                            "cipher-mode": .string, "ivgen-alg": .string, "ivgen-hash-alg": .string,
                            "hash-alg": .string, "iter-time": .integer(minimum: 0), "size": .integer(minimum: 0),
                            "preallocation": preallocation,
                        ],
                        required: ["file", "size"]),
                ])
        ],
        required: ["options"])

    /// `x-blockdev-amend`: `options` is `BlockdevAmendOptions`, a union on `driver` (qcow2, luks).
    static let amendSchema = ArgumentSchema(
        fields: [
            "node-name": .string, "force": .boolean,
            "options": .union(
                tag: "driver",
                [
                    "qcow2": ArgumentSchema(fields: ["encrypt": .object], required: []),
                    "luks": ArgumentSchema(
                        fields: [
                            "state": .oneOf(["active", "inactive"]), "new-secret": .string, "old-secret": .string,
                            "keyslot": .integer(minimum: 0), "iter-time": .integer(minimum: 0),
                            "secret": .string,
                        ],
                        required: ["state"]),
                ]),
        ],
        required: ["node-name", "options"])

    /// `snapshot-save` and `snapshot-load`.
    static let snapshotSchema = ArgumentSchema(
        fields: ["tag": .string, "vmstate": .string, "devices": .strings], required: ["tag", "vmstate", "devices"])

    /// `snapshot-delete`.
    static let snapshotDeleteSchema = ArgumentSchema(
        fields: ["tag": .string, "devices": .strings], required: ["tag", "devices"])

    /// Refuses an id longer than `QEMUIdentifier.maximumLength` bytes (without quoting it: it may be huge), then, unless
    /// `checkGrammar` is false (QEMU checks it and has its own words), one that breaks QEMU's grammar.
    /// - Parameters:
    ///   - field: the field's path, named in the refusal (`id`, `actions[0].data.job-id`, `node-name`).
    ///   - refusal: the sentence for an ill-formed id; nil for a job id, refused in QEMU's words ("Invalid job ID
    ///     '\(id)'", also carried as `desc`).
    /// - Throws: `JobError.invalidField` (within `.inQEMUWords` for a job id).
    public static func validateID(
        _ id: String, field: String, checkGrammar: Bool = true, refusal: ((String) -> String)? = nil
    ) throws {
        let length = id.utf8.count
        guard length <= QEMUIdentifier.maximumLength else {
            throw JobError.invalidField(
                field: field,
                detail:
                    "'\(field)' is \(length) bytes long; jobgate accepts at most \(QEMUIdentifier.maximumLength) bytes (QEMU's id grammar: an ASCII letter, then letters, digits, '-', '.' and '_')"
            )
        }
        guard !checkGrammar || QEMUIdentifier.isWellFormed(id) else {
            guard let refusal else {
                let words = QEMUWording.invalidJobID(id)
                throw JobError.inQEMUWords(.invalidField(field: field, detail: words.description), words)
            }
            throw JobError.invalidField(field: field, detail: refusal(id))
        }
    }
}
