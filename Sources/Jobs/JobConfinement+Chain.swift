import JSON
import JobModel

extension JobConfinement {
    /// The backing chain of a stream or commit job's `device`, as QEMU reports it (`query-named-block-nodes`:
    /// the node's `image`, nested `backing-image`s), with the real paths of jobgate's fdsets.
    struct Chain: Sendable {
        /// QEMU's file names from the device's image down to the bottom of the chain.
        let files: [String]
        /// Real path by fdset name.
        let paths: [String: String]

        init(device: String, nodes: NodeLookup, descriptors: ImageDescriptors) async throws {
            var files: [String] = []
            var image = try await nodes.node(named: device)?["image"]
            while let current = image, files.count < 64 {
                if let name = current["filename"]?.stringValue { files.append(name) }
                image = current["backing-image"]
            }
            self.files = files
            self.paths = files.contains { $0.hasPrefix("/dev/fdset/") } ? try await descriptors.realPaths() : [:]
        }

        func real(_ file: String) -> String? {
            file.hasPrefix("/dev/fdset/") ? paths[file] : file.hasPrefix("/") ? file : nil
        }

        /// The real path of the device's image.
        var devicePath: String? { files.first.flatMap(real) }

        /// QEMU's name for the image at real path `path` in this chain.
        func fdsetName(of path: String) -> String? {
            files.first { paths[$0] == path }
        }

        /// The real path of the image that becomes the new backing file of an image the job rewrites, when the job
        /// writes a backing file name (QEMU writes its `filename`, an fdset name, otherwise): stream with a base
        /// (`base-node`, `base`, or below `bottom`), commit that is not active (default base: the bottom of the
        /// chain). Nil when QEMU writes none (a stream of the whole chain; an active commit, for which QEMU
        /// refuses `backing-file`) or the image is not known.
        func newBackingPath(
            _ type: JobType, _ arguments: [String: JSONValue], nodes: NodeLookup, descriptors: ImageDescriptors
        ) async throws -> String? {
            let device = arguments["device"]?.stringValue
            if type == .commit {
                let top = arguments["top-node"]?.stringValue
                let isActive =
                    (top == nil || top == device)
                    && (arguments["top"]?.stringValue).map { $0 == files.first } ?? true
                guard !isActive else { return nil }
            }
            if let node = arguments["base-node"]?.stringValue {
                return try await realPath(ofNode: node, nodes: nodes, descriptors: descriptors)
            }
            if let base = arguments["base"]?.stringValue { return real(base) }
            if type == .stream {
                guard let bottom = arguments["bottom"]?.stringValue,
                    let below = try await nodes.node(named: bottom)?["image"]?["backing-image"]?["filename"]?
                        .stringValue
                else { return nil }
                return try await resolved(below, descriptors: descriptors)
            }
            return files.count > 1 ? files.last.flatMap(real) : nil
        }

        private func realPath(ofNode name: String, nodes: NodeLookup, descriptors: ImageDescriptors) async throws
            -> String?
        {
            guard let file = try await nodes.node(named: name)?["image"]?["filename"]?.stringValue else { return nil }
            return try await resolved(file, descriptors: descriptors)
        }

        private func resolved(_ file: String, descriptors: ImageDescriptors) async throws -> String? {
            if let known = real(file) { return known }
            return try await descriptors.realPath(of: file)
        }
    }
}
