import JobModel

/// How a `POST /jobs` body of one job type becomes a QMP command (`qapi/block-core.json`, QEMU 7.2).
///
/// The body is `{"type": T, "id": ID, ...the command's arguments}`; `id` becomes the command's `job-id`.
public struct JobCommand: Sendable {
    public var type: JobType
    /// The QMP command that creates the job.
    public var command: String
    /// The command's arguments other than `job-id`.
    public var schema: ArgumentSchema

    /// The job types jobgate runs, by type.
    public static let all: [JobType: JobCommand] = [
        .backup: JobCommand(type: .backup, command: "blockdev-backup", schema: backupSchema),
        .mirror: JobCommand(type: .mirror, command: "blockdev-mirror", schema: mirrorSchema),
    ]

    static let errorPolicy = ArgumentSchema.Kind.oneOf(["report", "ignore", "enospc", "stop", "auto"])

    /// `blockdev-backup` (`BlockdevBackup` in qapi/block-core.json).
    static let backupSchema = ArgumentSchema(
        fields: [
            "device": .string, "target": .string,
            "sync": .oneOf(["top", "full", "none", "incremental", "bitmap"]),
            "speed": .integer(minimum: 0), "bitmap": .string,
            "bitmap-mode": .oneOf(["on-success", "never", "always"]),
            "compress": .boolean, "on-source-error": errorPolicy, "on-target-error": errorPolicy,
            "auto-finalize": .boolean, "auto-dismiss": .boolean, "filter-node-name": .string, "x-perf": .object,
        ],
        required: ["device", "target", "sync"])

    /// `blockdev-mirror` (`BlockdevMirror`).
    static let mirrorSchema = ArgumentSchema(
        fields: [
            "device": .string, "target": .string, "replaces": .string,
            "sync": .oneOf(["top", "full", "none", "incremental", "bitmap"]),
            "speed": .integer(minimum: 0), "granularity": .integer(minimum: 512),
            "buf-size": .integer(minimum: 1), "on-source-error": errorPolicy, "on-target-error": errorPolicy,
            "filter-node-name": .string, "copy-mode": .oneOf(["background", "write-blocking"]),
            "auto-finalize": .boolean, "auto-dismiss": .boolean,
        ],
        required: ["device", "target", "sync"])

    /// QEMU's job id rule (util/id.c `id_wellformed`): an ASCII letter, then letters, digits, `-`, `.`, `_`.
    public static func isWellFormedID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic else { return false }
        return id.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-._".unicodeScalars.contains($0))
        }
    }
}
