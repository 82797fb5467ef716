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
