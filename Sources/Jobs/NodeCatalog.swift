import JobModel
import Logging
import QMP

/// The block nodes jobs act on: `blockdev-add` under the image-root policy, and `query-named-block-nodes`.
///
/// Remembers what it attached, so that an engine jobgate had to replace gets the same nodes again (`reattach`).
public struct NodeCatalog: Sendable {
    private let engine: any QMPExecuting
    public let policy: ImageRootPolicy
    private let attachments = NodeAttachments()

    public init(engine: any QMPExecuting, policy: ImageRootPolicy) {
        self.engine = engine
        self.policy = policy
    }

    /// Adds a node from `blockdev-add` arguments (QAPI `BlockdevOptions`) and returns what QEMU reports of it.
    /// - Throws: `JobError` (`.invalidField` without `node-name`/`driver`, the policy's refusals,
    ///   `.engine(..., .create)` for QEMU's refusal).
    public func add(_ arguments: JSONValue) async throws -> JSONValue {
        let (name, confined) = try await checked(arguments)
        try await engine.run("blockdev-add", confined, during: .create)
        attachments.attached(name, with: confined)
        return try await node(named: name) ?? confined
    }

    /// Validates and confines `blockdev-add` arguments, inspecting the qcow2 images QEMU would follow.
    /// - Returns: the node's name and the arguments to send.
    private func checked(_ arguments: JSONValue) async throws -> (String, JSONValue) {
        guard let object = arguments.objectValue else { throw JobError.invalidBody("the body must be a JSON object") }
        guard let name = object["node-name"]?.stringValue, !name.isEmpty else {
            throw JobError.invalidField(field: "node-name", detail: "'node-name' is required and must be a string")
        }
        try JobCommand.validateID(name, field: "node-name", checkGrammar: false)
        guard object["driver"] != nil else {
            throw JobError.invalidField(field: "driver", detail: "'driver' is required")
        }
        let (confined, inspections) = try policy.confine(arguments)
        for inspection in inspections {
            switch inspection {
            case .file(let path, let backing, let dataFile):
                try policy.inspectImage(at: path, backing: backing, dataFile: dataFile, field: "file.filename")
            case .node(let node, let backing, let dataFile):
                guard let path = try await fileName(ofNode: node) else { continue }
                try policy.inspectImage(at: path, backing: backing, dataFile: dataFile, field: "file (node '\(node)')")
            }
        }
        return (name, confined)
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
                let (_, confined) = try await checked(arguments)
                try await engine.run("blockdev-add", confined, during: .create)
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

    /// Removes node `name` (`blockdev-del`); QEMU refuses while a job or another node uses it.
    /// - Throws: `JobError.engine(..., .create)` with QEMU's refusal.
    public func remove(_ name: String) async throws {
        try await engine.run("blockdev-del", ["node-name": .string(name)], during: .create)
        attachments.detached(name)
    }

    /// Every named node, as `query-named-block-nodes` (flat) reports them.
    public func list() async throws -> [JSONValue] {
        try await NodeLookup(engine: engine).all()
    }

    private func node(named name: String) async throws -> JSONValue? {
        try await NodeLookup(engine: engine).node(named: name)
    }

    /// The file behind a `file`-driver node; nil for other drivers (they name no file QEMU could follow).
    private func fileName(ofNode name: String) async throws -> String? {
        guard let node = try await node(named: name), node["drv"]?.stringValue == "file" else { return nil }
        return node["file"]?.stringValue
    }
}
