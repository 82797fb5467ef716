import JSON
import JobModel

/// The twelve action types of a QMP `transaction` (`qapi/transaction.json`, `TransactionAction`, QEMU 7.2).
public enum TransactionAction: String, CaseIterable, Sendable {
    case abort
    case blockDirtyBitmapAdd = "block-dirty-bitmap-add"
    case blockDirtyBitmapRemove = "block-dirty-bitmap-remove"
    case blockDirtyBitmapClear = "block-dirty-bitmap-clear"
    case blockDirtyBitmapEnable = "block-dirty-bitmap-enable"
    case blockDirtyBitmapDisable = "block-dirty-bitmap-disable"
    case blockDirtyBitmapMerge = "block-dirty-bitmap-merge"
    case blockdevBackup = "blockdev-backup"
    case blockdevSnapshot = "blockdev-snapshot"
    case blockdevSnapshotInternalSync = "blockdev-snapshot-internal-sync"
    case blockdevSnapshotSync = "blockdev-snapshot-sync"
    case driveBackup = "drive-backup"

    /// The backup actions create a job, and are the only kinds QEMU allows in `grouped` completion mode.
    public var createsJob: Bool { self == .blockdevBackup || self == .driveBackup }

    /// The shape of the action's `data`. Backup actions need `job-id`, so jobgate can keep their records.
    public var schema: ArgumentSchema {
        let bitmap = ArgumentSchema(fields: ["node": .string, "name": .string], required: ["node", "name"])
        switch self {
        case .abort:
            return ArgumentSchema(fields: [:], required: [])
        case .blockDirtyBitmapAdd:
            return ArgumentSchema(
                fields: [
                    "node": .string, "name": .string, "granularity": .integer(minimum: 512), "persistent": .boolean,
                    "disabled": .boolean,
                ],
                required: ["node", "name"])
        case .blockDirtyBitmapRemove, .blockDirtyBitmapClear, .blockDirtyBitmapEnable, .blockDirtyBitmapDisable:
            return bitmap
        case .blockDirtyBitmapMerge:
            return ArgumentSchema(
                fields: ["node": .string, "target": .string, "bitmaps": .array],
                required: ["node", "target", "bitmaps"])
        case .blockdevBackup:
            var schema = JobCommand.backupSchema
            schema.fields["job-id"] = .string
            schema.required.insert("job-id")
            return schema
        case .driveBackup:
            var schema = JobCommand.backupSchema
            schema.fields["job-id"] = .string
            schema.fields["format"] = .string
            schema.fields["mode"] = .oneOf(["existing", "absolute-paths"])
            schema.required.insert("job-id")
            return schema
        case .blockdevSnapshot:
            return ArgumentSchema(fields: ["node": .string, "overlay": .string], required: ["node", "overlay"])
        case .blockdevSnapshotInternalSync:
            return ArgumentSchema(fields: ["device": .string, "name": .string], required: ["device", "name"])
        case .blockdevSnapshotSync:
            return ArgumentSchema(
                fields: [
                    "device": .string, "node-name": .string, "snapshot-file": .string, "snapshot-node-name": .string,
                    "format": .string, "mode": .oneOf(["existing", "absolute-paths"]),
                ],
                required: ["snapshot-file"])
        }
    }

    /// Fields holding a file name QEMU will create or open: confined to the image roots.
    var fileFields: [String] {
        switch self {
        case .blockdevSnapshotSync: ["snapshot-file"]
        case .driveBackup: ["target"]
        default: []
        }
    }
}

extension TransactionAction {
    /// Refuses what QEMU cannot do safely with a file it got as a descriptor: when it creates an image whose
    /// backing file is another node's image (`blockdev-snapshot-sync`, or `drive-backup` with `sync` `none` or
    /// `top`, in `absolute-paths` mode), it writes that node's file name into the new header, and that name is
    /// `/dev/fdset/N`. Create the image first (a `create` job, whose `backing-file` jobgate checks) and use
    /// `mode: existing`.
    /// - Throws: `JobError.invalidField` naming `mode`.
    func requireDescriptorSafe(_ data: [String: JSONValue], field prefix: String) throws {
        guard data["mode"]?.stringValue != "existing" else { return }
        let writesBacking: Bool =
            switch self {
            case .blockdevSnapshotSync: true
            case .driveBackup: ["none", "top"].contains(data["sync"]?.stringValue ?? "")
            default: false
            }
        guard writesBacking else { return }
        throw JobError.invalidField(
            field: prefix + "mode",
            detail:
                "'\(prefix)mode' must be 'existing' here: jobgate hands QEMU every image as a descriptor, and the image QEMU would create names its backing file by the descriptor (/dev/fdset/N); create it first with a create job (its backing-file is checked) and pass mode 'existing'"
        )
    }
}
