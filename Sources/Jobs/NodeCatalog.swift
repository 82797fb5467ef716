import JobModel
import QMP

/// The block nodes jobs act on: `blockdev-add` under the image-root policy, and `query-named-block-nodes`.
public struct NodeCatalog: Sendable {
    private let engine: any QMPExecuting
    public let policy: ImageRootPolicy

    public init(engine: any QMPExecuting, policy: ImageRootPolicy) {
        self.engine = engine
        self.policy = policy
    }

    /// Adds a node from `blockdev-add` arguments (QAPI `BlockdevOptions`) and returns what QEMU reports of it.
    /// - Throws: `JobError` (`.invalidField` without `node-name`/`driver`, the policy's refusals,
    ///   `.engine(..., .create)` for QEMU's refusal).
    public func add(_ arguments: JSONValue) async throws -> JSONValue {
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
        try await engine.run("blockdev-add", confined, during: .create)
        return try await node(named: name) ?? confined
    }

    /// Removes node `name` (`blockdev-del`); QEMU refuses while a job or another node uses it.
    /// - Throws: `JobError.engine(..., .create)` with QEMU's refusal.
    public func remove(_ name: String) async throws {
        try await engine.run("blockdev-del", ["node-name": .string(name)], during: .create)
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
