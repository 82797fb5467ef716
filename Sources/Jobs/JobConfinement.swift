import Foundation
import JobModel
import QMP

/// Applies the image-root policy to a job's arguments before they reach QEMU.
///
/// - `create`: the driver of `options` (and of any inline node inside it) must be on the allow-list; `filename`s
///   resolve inside the roots and are rewritten to real paths; a qcow2 `backing-file`, which QEMU writes into the
///   new image and later opens relative to the image's directory, must resolve inside the roots from there.
/// - `stream`, `commit`: `backing-file` (written into an image header) is checked the same way, relative to the
///   directory of the `device` node's image.
/// - The other types name nodes only, and nodes were confined when they were added.
struct JobConfinement: Sendable {
    let policy: ImageRootPolicy
    let nodes: NodeLookup

    /// - Returns: the arguments to send, with file names made real and absolute where QEMU only opens them.
    /// - Throws: `JobError.pathOutsideImageRoots`, `.driverNotAllowed`, `.invalidField`.
    func confine(_ type: JobType, _ arguments: [String: JSONValue]) async throws -> [String: JSONValue] {
        var arguments = arguments
        switch type {
        case .create:
            guard let options = arguments["options"] else { return arguments }
            let (confined, _) = try policy.confine(options, path: "options.")
            arguments["options"] = confined
            if let backing = confined["backing-file"]?.stringValue {
                let image = try await imageFile(of: confined["file"])
                try checkBackingFile(backing, field: "options.backing-file", image: image)
            }
            if let format = confined["backing-fmt"]?.stringValue, !policy.allowedDrivers.contains(format) {
                throw JobError.driverNotAllowed(
                    field: "options.backing-fmt", driver: format, allowed: policy.allowedDrivers.sorted())
            }
        case .stream, .commit:
            if let backing = arguments["backing-file"]?.stringValue, let device = arguments["device"]?.stringValue {
                let image = try await nodes.fileName(ofNode: device)
                try checkBackingFile(backing, field: "backing-file", image: image)
            }
        case .backup, .mirror, .amend, .snapshotSave, .snapshotLoad, .snapshotDelete:
            break
        }
        return arguments
    }

    /// The image file a `BlockdevRef` stands for: an inline `{"driver": "file", "filename": ...}` or a node name.
    private func imageFile(of reference: JSONValue?) async throws -> String? {
        if let filename = reference?["filename"]?.stringValue { return filename }
        if let node = reference?.stringValue { return try await nodes.fileName(ofNode: node) }
        return nil
    }

    /// A backing file name as QEMU will read it: relative names from the image's directory.
    private func checkBackingFile(_ name: String, field: String, image: String?) throws {
        let directory = image.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        _ = try policy.resolve(name, field: field, relativeTo: directory)
    }
}
