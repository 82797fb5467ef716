import Foundation
import JSON
import JobModel
import QMP

/// Applies the image-root policy to a job's arguments before they reach QEMU, and hands QEMU descriptors for
/// the files a job opens or creates (`ImageDescriptors`).
///
/// - `create`: the driver of `options` (and of any inline node inside it) must be on the allow-list; `filename`s
///   resolve inside the roots; the file a `file` job creates is created by jobgate (`O_EXCL`, or the existing
///   file opened without following symlinks) and passed as an fdset. A qcow2 `backing-file`, which QEMU writes
///   into the new image and later opens relative to the image's directory, must resolve inside the roots.
/// - `stream`, `commit`: `backing-file` (written into an image header) is checked the same way, relative to the
///   directory of the `device` node's image. When the client gives none and the job will write one, jobgate gives
///   the real path of the new backing image (QEMU would write its fdset name, `/dev/fdset/N`); `base` and `top`
///   given as file names are translated to QEMU's names for them (`JobConfinement+Chain`).
/// - The other types name nodes only, and nodes were confined when they were added.
struct JobConfinement: Sendable {
    let policy: ImageRootPolicy
    let nodes: NodeLookup
    let descriptors: ImageDescriptors

    /// The arguments to send, and the fdsets passed for them: settle them for the job once QEMU accepted it,
    /// abandon them otherwise.
    struct Confined {
        var arguments: [String: JSONValue]
        var fdsets: [Int64]
    }

    /// - Throws: `JobError.pathOutsideImageRoots`, `.driverNotAllowed`, `.invalidField`, `.notARegularFile`.
    func confine(_ type: JobType, _ arguments: [String: JSONValue]) async throws -> Confined {
        var arguments = arguments
        switch type {
        case .create:
            guard let options = arguments["options"] else { break }
            let (confined, _) = try await fileSystem.run { [policy] in try policy.confine(options, path: "options.") }
            if let backing = confined["backing-file"]?.stringValue {
                let image = try await imageFile(of: confined["file"])
                try await checkBackingFile(backing, field: "options.backing-file", image: image)
            }
            if let format = confined["backing-fmt"]?.stringValue, !policy.allowedDrivers.contains(format) {
                throw JobError.driverNotAllowed(
                    field: "options.backing-fmt", driver: format, allowed: policy.allowedDrivers.sorted())
            }
            let (sent, fdsets) = try await descriptors.substitute(confined, path: "options.", top: .create)
            arguments["options"] = sent
            return Confined(arguments: arguments, fdsets: fdsets)
        case .stream, .commit:
            guard let device = arguments["device"]?.stringValue else { break }
            let chain = try await Chain(device: device, nodes: nodes, descriptors: descriptors)
            if let backing = arguments["backing-file"]?.stringValue {
                try await checkBackingFile(backing, field: "backing-file", image: chain.devicePath)
            }
            try await translateFileNames(&arguments, chain: chain)
            if arguments["backing-file"] == nil,
                let base = try await chain.newBackingPath(type, arguments, nodes: nodes, descriptors: descriptors)
            {
                arguments["backing-file"] = .string(base)
            }
        case .backup, .mirror, .amend, .snapshotSave, .snapshotLoad, .snapshotDelete:
            break
        }
        return Confined(arguments: arguments, fdsets: [])
    }

    /// `base` / `top` as file names: QEMU knows the images by their fdset names, so a real path inside the roots
    /// becomes the fdset name of that image in the device's chain (left as given when it is not in the chain:
    /// QEMU then says it cannot find it).
    private func translateFileNames(_ arguments: inout [String: JSONValue], chain: Chain) async throws {
        for key in ["base", "top"] {
            guard let name = arguments[key]?.stringValue else { continue }
            let directory = chain.devicePath.map(Self.directory)
            let real = try await fileSystem.run { [policy] in
                try policy.resolve(name, field: key, relativeTo: directory)
            }
            if let fdset = chain.fdsetName(of: real) { arguments[key] = .string(fdset) }
        }
    }

    /// The image file a `BlockdevRef` stands for: an inline `{"driver": "file", "filename": ...}` or a node name.
    private func imageFile(of reference: JSONValue?) async throws -> String? {
        if let filename = reference?["filename"]?.stringValue { return filename }
        if let node = reference?.stringValue { return try await realPath(ofNode: node) }
        return nil
    }

    /// The real path of node `name`'s image, whether QEMU has it as a path or as an fdset.
    private func realPath(ofNode name: String) async throws -> String? {
        guard let file = try await nodes.fileName(ofNode: name) else { return nil }
        return try await descriptors.realPath(of: file)
    }

    /// A backing file name as QEMU will read it: relative names from the image's directory.
    private func checkBackingFile(_ name: String, field: String, image: String?) async throws {
        let directory = image.map(Self.directory)
        _ = try await fileSystem.run { [policy] in try policy.resolve(name, field: field, relativeTo: directory) }
    }

    private var fileSystem: FileSystemWork { descriptors.fileSystem }

    static func directory(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}
