import JSON
import JobModel
import QMP

/// Asks the engine about named block nodes (`query-named-block-nodes`).
struct NodeLookup: Sendable {
    let engine: any QMPExecuting

    /// Every named node, flat.
    /// - Throws: `JobError.engine(..., .query)`.
    func all() async throws -> [JSONValue] {
        try await engine.run("query-named-block-nodes", ["flat": true], during: .query).arrayValue ?? []
    }

    /// The node called `name`, if any.
    func node(named name: String) async throws -> JSONValue? {
        try await all().first { $0["node-name"]?.stringValue == name }
    }

    /// The file behind node `name` when it is a `file`-driver node, or the file of the image it opens (for format
    /// nodes QEMU reports the image's file name); nil if the node is unknown or names no file.
    func fileName(ofNode name: String) async throws -> String? {
        guard let node = try await node(named: name), let file = node["file"]?.stringValue else { return nil }
        return file.hasPrefix("/") ? file : nil
    }
}
