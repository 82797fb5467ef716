import JSON
import JobModel
import QMP

/// Secrets for encrypted images: QEMU `secret` objects (`object-add` / `object-del`, `qapi/qom.json`).
///
/// The secret's `data` goes to QEMU and nowhere else: it is never returned, logged, or written to a record or
/// snapshot. Only inline `data` is accepted; the `file` and `keyid` forms would let a client make QEMU read a file
/// or another secret of the host's.
public struct SecretCatalog: Sendable {
    private let engine: any QMPExecuting

    public init(engine: any QMPExecuting) {
        self.engine = engine
    }

    static let schema = ArgumentSchema(
        fields: ["id": .string, "data": .string, "format": .oneOf(["raw", "base64"])], required: ["id", "data"])

    /// Adds a secret; returns its id.
    /// - Throws: `JobError.invalidField` (never quoting the data), `.engine(..., .create)`.
    public func add(_ body: [String: JSONValue]) async throws -> String {
        try Self.schema.validate(body)
        let id = body["id"]!.stringValue!
        try JobCommand.validateID(id, field: "id") { "Invalid secret id '\($0)'" }
        var arguments = body
        arguments["qom-type"] = "secret"
        try await engine.run("object-add", .object(arguments), during: .create)
        return id
    }

    /// Removes secret `id` (`object-del`).
    public func remove(_ id: String) async throws {
        try await engine.run("object-del", ["id": .string(id)], during: .create)
    }
}
