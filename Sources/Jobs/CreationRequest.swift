import JSON
import JobModel

/// A creation turned into its QMP command: the id and the arguments checked (`JobCommand`, `ArgumentSchema`), the
/// file names confined to the image roots and the images opened as descriptors passed to QEMU
/// (`JobConfinement`), `job-id` added. Holds no actor; `JobManager.create` sends it, and settles or abandons the
/// fdsets by QEMU's answer.
struct CreationRequest {
    /// The QMP command (`JobCommand.command(for:)`).
    let command: String
    /// Its arguments, confined, with `job-id`.
    let arguments: [String: JSONValue]
    /// The fdsets made for it (empty when no file is opened by jobgate).
    let fdsets: [Int64]

    /// - Throws: `JobError` (`.invalidField`, the image-root policy's refusals).
    init(_ type: JobType, id: String, arguments: [String: JSONValue], confinement: JobConfinement) async throws {
        let command = JobCommand.command(for: type)
        try JobCommand.validateID(id, field: "id")
        try command.schema.validate(arguments)
        let confined = try await confinement.confine(type, arguments)
        var qmpArguments = confined.arguments
        qmpArguments["job-id"] = .string(id)
        self.command = command.command
        self.arguments = qmpArguments
        self.fdsets = confined.fdsets
    }
}
