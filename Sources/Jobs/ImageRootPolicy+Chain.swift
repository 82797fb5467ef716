import Foundation
import JSON
import JobModel

extension ImageRootPolicy {
    /// The members that pin what a qcow2 image at `path` would make QEMU open by itself, read from its header
    /// (QEMU `docs/interop/qcow2.txt`): `backing` as the explicit chain of nodes (each file checked inside the
    /// roots, relative names from the image's directory), or `null` when the header names none; `data-file` as an
    /// explicit node when the header names an external data file. QEMU then opens no file by a name from a
    /// header: every file in the chain is a `file` node, which `ImageDescriptors` hands over as a descriptor.
    ///
    /// - Parameters:
    ///   - backing: whether the client left `backing` to the header (else it is left alone).
    ///   - dataFile: whether the client left `data-file` to the header.
    /// - Returns: the members to add to the image's node object.
    /// - Throws: `JobError.pathOutsideImageRoots` with `field` naming what was followed (also for a backing file
    ///   without a recorded format that is not qcow2: QEMU would probe it), or a chain deeper than 32.
    public func pinningChain(of path: String, backing: Bool, dataFile: Bool, field: String) throws
        -> [String: JSONValue]
    {
        try pinningChain(of: path, backing: backing, dataFile: dataFile, field: field, origin: path, depth: 0)
    }

    private func pinningChain(
        of path: String, backing: Bool, dataFile: Bool, field: String, origin: String, depth: Int
    ) throws -> [String: JSONValue] {
        guard depth < 32 else {
            throw JobError.pathOutsideImageRoots(field: field + " backing chain deeper than 32", path: origin)
        }
        guard let header = QcowHeader.read(path: path) else { return backing ? ["backing": .null] : [:] }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let label = depth == 0 ? field : "\(field) (backing chain of \(origin))"
        var members: [String: JSONValue] = [:]
        if dataFile, let data = header.dataFile {
            let real = try resolve(data, field: label + " data file", relativeTo: directory)
            members["data-file"] = ["driver": "file", "filename": .string(real)]
        }
        guard backing else { return members }
        guard let name = header.backingFile else {
            members["backing"] = .null
            return members
        }
        let next = try resolve(name, field: label + " backing file", relativeTo: directory)
        let isQcow = QcowHeader.read(path: next) != nil
        // Without a recorded format QEMU probes the file, and a probed format may open yet more files.
        guard let format = header.backingFormat ?? (isQcow ? "qcow2" : nil), allowedDrivers.contains(format) else {
            throw JobError.pathOutsideImageRoots(field: label + " backing format", path: name)
        }
        let file: JSONValue = ["driver": "file", "filename": .string(next)]
        switch format {
        case "file":
            members["backing"] = file
        case "qcow2":
            var node: [String: JSONValue] = ["driver": "qcow2", "file": file]
            node.merge(
                try pinningChain(
                    of: next, backing: true, dataFile: true, field: field, origin: origin, depth: depth + 1)
            ) { $1 }
            members["backing"] = .object(node)
        default:
            members["backing"] = ["driver": .string(format), "file": file]
        }
        return members
    }
}
