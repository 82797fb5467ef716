import JobModel
import QMP

/// Asks the engine about named block nodes (`query-named-block-nodes`).
struct NodeLookup: Sendable {
    let engine: any QMPExecuting

    /// Every named node, flat.
    /// - Throws: `JobError.engine(..., .query)`.
    func all() async throws -> [JSONValue] {
        do {
            return try await engine.execute("query-named-block-nodes", arguments: ["flat": true]).arrayValue ?? []
        } catch let error as QMPError {
            throw JobError.engine(error, operation: .query)
        }
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
