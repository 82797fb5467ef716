import Foundation
import JSON
import JobModel

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps every file QEMU opens on a client's behalf inside the image roots, and every block driver on the
/// allow-list.
///
/// Applies to a `blockdev-add` body at any depth: each `filename` (and blkdebug's `config`) must resolve, symlinks
/// followed, inside an image root; relative names resolve against the first root and are rewritten to the
/// resolved absolute path; `json:` pseudo-filenames and protocol prefixes are refused. qcow2 images opened
/// without an explicit `backing`/`data-file` are reported for inspection, because QEMU would open the files their
/// headers name (`pinningChain` turns those into explicit nodes). Checking names is half of it: `open` opens the
/// checked file without following symlinks, and `ImageDescriptors` hands QEMU the descriptor.
public struct ImageRootPolicy: Sendable {
    /// The roots, as real paths (symlinks resolved), in the order given.
    public let roots: [String]
    public let allowedDrivers: Set<String>
    /// Whether block devices inside a root may be opened (`--allow-block-devices`); other files than regular ones
    /// (FIFOs, character devices, sockets, directories) never: opening a FIFO blocks, and QEMU with it.
    public let allowsBlockDevices: Bool

    /// The safe default allow-list: plain files, qcow2, raw, and null-co (reads zeros, writes nothing; for tests).
    public static let defaultDrivers: Set<String> = ["file", "qcow2", "raw", "null-co"]

    /// - Parameter roots: existing directories; resolved to real paths here.
    /// - Throws: `JobError.invalidBody` if a root does not exist.
    public init(roots: [String], allowedDrivers: Set<String> = defaultDrivers, allowsBlockDevices: Bool = false) throws
    {
        self.allowsBlockDevices = allowsBlockDevices
        self.roots = try roots.map { root in
            guard let real = Self.realPath(root) else {
                throw JobError.invalidBody("image root \(root) does not exist")
            }
            return real
        }
        self.allowedDrivers = allowedDrivers
    }

    /// A qcow2 image whose header QEMU would follow: by file path, or by the node that holds it; `at` is the key
    /// path of its object in the arguments (see `pinningChain`).
    public struct ImageToInspect: Sendable, Equatable {
        public enum Image: Sendable, Equatable {
            case file(String)
            case node(String)
        }
        public var image: Image
        /// Whether the client left `backing` / `data-file` to the header.
        public var backing: Bool
        public var dataFile: Bool
        public var at: [String]
    }

    /// Checks and rewrites `blockdev-add` arguments.
    /// - Returns: the arguments with every file name made absolute and real, and the qcow2 images to inspect.
    /// - Throws: `JobError.pathOutsideImageRoots`, `.driverNotAllowed`, `.invalidField`.
    public func confine(_ arguments: JSONValue, path: String = "") throws -> (JSONValue, [ImageToInspect]) {
        var inspections: [ImageToInspect] = []
        let result = try walk(arguments, path: path, keys: [], inspections: &inspections)
        return (result, inspections)
    }

    private func walk(_ value: JSONValue, path: String, keys: [String], inspections: inout [ImageToInspect]) throws
        -> JSONValue
    {
        switch value {
        case .string(let text) where text.hasPrefix("json:"):
            throw JobError.pathOutsideImageRoots(field: path, path: text)
        case .array(let elements):
            return .array(
                try elements.enumerated().map {
                    try walk($1, path: "\(path)[\($0)]", keys: keys + ["\($0)"], inspections: &inspections)
                })
        case .object(var members):
            let driver = members["driver"]?.stringValue
            if let driverValue = members["driver"] {
                guard let driver = driverValue.stringValue else {
                    throw JobError.invalidField(field: path + "driver", detail: "'\(path)driver' must be a string")
                }
                guard allowedDrivers.contains(driver) else {
                    throw JobError.driverNotAllowed(
                        field: path + "driver", driver: driver, allowed: allowedDrivers.sorted())
                }
            }
            for (key, member) in members {
                let field = path + key
                if key == "filename" || (key == "config" && driver == "blkdebug") {
                    guard let name = member.stringValue else {
                        throw JobError.invalidField(field: field, detail: "'\(field)' must be a string")
                    }
                    members[key] = .string(try resolve(name, field: field))
                } else {
                    members[key] = try walk(member, path: field + ".", keys: keys + [key], inspections: &inspections)
                }
            }
            if driver == "qcow2" {
                let backing = members["backing"] == nil
                let dataFile = members["data-file"] == nil
                if backing || dataFile {
                    let image: ImageToInspect.Image? =
                        if let file = members["file"]?["filename"]?.stringValue {
                            .file(file)
                        } else if let node = members["file"]?.stringValue {
                            .node(node)
                        } else { nil }
                    if let image {
                        inspections.append(ImageToInspect(image: image, backing: backing, dataFile: dataFile, at: keys))
                    }
                }
            }
            return .object(members)
        default:
            return value
        }
    }

    /// Resolves `name` (relative names against `base`, default the first root) to a real path inside a root.
    /// - Throws: `JobError.pathOutsideImageRoots` naming `field`.
    public func resolve(_ name: String, field: String, relativeTo base: String? = nil) throws -> String {
        let refuse = JobError.pathOutsideImageRoots(field: field, path: name)
        guard !name.isEmpty, !name.hasPrefix("json:"), !name.contains("\0") else { throw refuse }
        // QEMU reads "proto:rest" (a colon before any slash) as a protocol, not a file.
        if let colon = name.firstIndex(of: ":"), !name[..<colon].contains("/") { throw refuse }
        let absolute = name.hasPrefix("/") ? name : (base ?? roots[0]) + "/" + name
        let real: String
        if let existing = Self.realPath(absolute) {
            real = existing
        } else {
            // Nothing resolves there: but a dangling symlink exists, and QEMU creating the file would follow it.
            var link = stat()
            guard lstat(absolute, &link) != 0 else { throw refuse }
            let url = URL(fileURLWithPath: absolute)
            let last = url.lastPathComponent
            guard !last.isEmpty, last != ".", last != "..",
                let parent = Self.realPath(url.deletingLastPathComponent().path)
            else { throw refuse }
            real = parent + "/" + last
        }
        guard roots.contains(where: { real == $0 || real.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
            throw refuse
        }
        try requireOpenable(real, named: name, field: field)
        return real
    }

    /// Refuses an existing file that is not a regular file (nor an allowed block device). A name that does not
    /// exist yet passes: a job may create it.
    /// - Throws: `JobError.notARegularFile`.
    private func requireOpenable(_ path: String, named name: String, field: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { return }
        try requireOpenable(mode: status.st_mode, named: name, field: field)
    }

    /// Refuses a file of type `mode` (from `stat`) that is neither regular nor an allowed block device.
    /// - Throws: `JobError.notARegularFile` naming the kind.
    func requireOpenable(mode: mode_t, named name: String, field: String) throws {
        let kind: String
        switch mode & S_IFMT {
        case S_IFREG: return
        case S_IFBLK:
            guard !allowsBlockDevices else { return }
            kind = "a block device (allowed only with --allow-block-devices)"
        case S_IFIFO: kind = "a FIFO"
        case S_IFCHR: kind = "a character device"
        case S_IFSOCK: kind = "a socket"
        case S_IFDIR: kind = "a directory"
        default: kind = "not a regular file"
        }
        throw JobError.notARegularFile(field: field, path: name, kind: kind)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
