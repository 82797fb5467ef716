import JSON
import JobModel
import Logging
import QMP

/// The block nodes jobs act on: `blockdev-add` under the image-root policy, and `query-named-block-nodes`.
///
/// QEMU gets every file as a descriptor (`ImageDescriptors`), and every file a qcow2 header names as an explicit
/// node of the chain, so it opens no path by itself. Lists show the real paths, not QEMU's `/dev/fdset/N`.
/// Remembers what clients asked for, so that an engine jobgate had to replace gets the same nodes again
/// (`reattach`), checked and opened afresh.
public struct NodeCatalog: Sendable {
    private let engine: any QMPExecuting
    public let policy: ImageRootPolicy
    public let descriptors: ImageDescriptors
    private let attachments = NodeAttachments()

    public init(engine: any QMPExecuting, policy: ImageRootPolicy, descriptors: ImageDescriptors? = nil) {
        self.engine = engine
        self.policy = policy
        self.descriptors = descriptors ?? ImageDescriptors(engine: engine, policy: policy)
    }

    /// Adds a node from `blockdev-add` arguments (QAPI `BlockdevOptions`) and returns what QEMU reports of it.
    /// - Throws: `JobError` (`.invalidField` without `node-name`/`driver`, the policy's refusals,
    ///   `.engine(..., .create)` for QEMU's refusal).
    public func add(_ arguments: JSONValue) async throws -> JSONValue {
        let name = try await attach(arguments)
        attachments.attached(name, with: arguments)
        return try await node(named: name) ?? arguments
    }

    /// Checks, opens and attaches one node; the fdsets it passed are settled, or abandoned if QEMU refused.
    /// - Returns: the node's name.
    private func attach(_ arguments: JSONValue) async throws -> String {
        let (name, confined) = try await checked(arguments)
        let (sent, fdsets) = try await descriptors.substitute(confined)
        do {
            try await engine.run("blockdev-add", sent, during: .create)
        } catch {
            await descriptors.abandon(fdsets)
            throw error
        }
        descriptors.settle(fdsets)
        return name
    }

    /// Validates and confines `blockdev-add` arguments, pinning the chains of the qcow2 images QEMU would follow.
    /// - Returns: the node's name and the arguments, with real paths, before descriptors replace them.
    private func checked(_ arguments: JSONValue) async throws -> (String, JSONValue) {
        guard let object = arguments.objectValue else { throw JobError.invalidBody("the body must be a JSON object") }
        guard let name = object["node-name"]?.stringValue, !name.isEmpty else {
            throw JobError.invalidField(field: "node-name", detail: "'node-name' is required and must be a string")
        }
        try JobCommand.validateID(name, field: "node-name", checkGrammar: false)
        guard object["driver"] != nil else {
            throw JobError.invalidField(field: "driver", detail: "'driver' is required")
        }
        let (confined, inspections) = try await descriptors.fileSystem.run { [policy] in
            try policy.confine(arguments)
        }
        // The files of nodes that qcow2 images sit on are QEMU's to say; reading headers is file-system work.
        var nodeFiles: [String: String] = [:]
        for case .node(let node) in inspections.map(\.image) {
            guard let file = try await NodeLookup(engine: engine).fileName(ofNode: node) else { continue }
            nodeFiles[node] = try await descriptors.realPath(of: file) ?? file
        }
        let pinned = try await descriptors.fileSystem.run { [policy, nodeFiles] in
            var pinned = confined
            for inspection in inspections {
                let path: String
                let field: String
                switch inspection.image {
                case .file(let file):
                    (path, field) = (file, (inspection.at + ["file", "filename"]).joined(separator: "."))
                case .node(let node):
                    guard let file = nodeFiles[node] else { continue }
                    (path, field) = (file, (inspection.at + ["file (node '\(node)')"]).joined(separator: "."))
                }
                let pins = try policy.pinningChain(
                    of: path, backing: inspection.backing, dataFile: inspection.dataFile, field: field)
                pinned = pinned.merging(pins, at: inspection.at)
            }
            return pinned
        }
        return (name, pinned)
    }

    /// Attaches every node clients attached through jobgate again, in their order, checked against the policy
    /// again: called once an engine jobgate started replaced one that died or hung, before anything else uses it.
    /// A node that cannot be attached again is dropped from the list and reported.
    /// - Returns: the nodes attached again, and those dropped with QEMU's or the policy's reason.
    @discardableResult
    public func reattach(logger: Logger) async -> (attached: [String], dropped: [(name: String, reason: String)]) {
        var attached: [String] = []
        var dropped: [(name: String, reason: String)] = []
        for (name, arguments) in attachments.all {
            do {
                _ = try await attach(arguments)
                attached.append(name)
            } catch {
                attachments.detached(name)
                dropped.append((name, "\(error)"))
                logger.warning(
                    "a node could not be attached to the new engine; it is dropped",
                    metadata: ["node": "\(name)", "error": "\(error)"])
            }
        }
        if !attached.isEmpty || !dropped.isEmpty {
            logger.notice(
                "nodes attached again to the new engine",
                metadata: ["attached": "\(attached)", "dropped": "\(dropped.map(\.name))"])
        }
        return (attached, dropped)
    }

    /// Removes node `name` (`blockdev-del`); QEMU refuses while a job or another node uses it. The fdsets no
    /// node uses any more are removed before this returns, and with them the image locks QEMU took.
    /// - Throws: `JobError.engine(..., .create)` with QEMU's refusal.
    public func remove(_ name: String) async throws {
        try await engine.run("blockdev-del", ["node-name": .string(name)], during: .create)
        attachments.detached(name)
        await descriptors.sweep()
    }

    /// Every named node, as `query-named-block-nodes` (flat) reports them, with real paths for fdsets.
    public func list() async throws -> [JSONValue] {
        let nodes = try await NodeLookup(engine: engine).all()
        guard !nodes.isEmpty else { return nodes }
        let paths = try await descriptors.realPaths()
        return nodes.map { ImageDescriptors.revealing($0, paths: paths) }
    }

    private func node(named name: String) async throws -> JSONValue? {
        try await list().first { $0["node-name"]?.stringValue == name }
    }
}
