import JSON
import JobModel
import QMP

extension QMPExecuting {
    /// Runs `command`, turning QMP failures into `JobError.engine(_, operation:)` so the gateway can say what was
    /// being attempted.
    @discardableResult
    func run(_ command: String, _ arguments: JSONValue? = nil, during operation: JobError.Operation) async throws
        -> JSONValue
    {
        do {
            return try await execute(command, arguments: arguments)
        } catch let error as QMPError {
            throw JobError.engine(EngineFailure(error), operation: operation)
        }
    }

    /// `run` with `descriptors` passed along (`add-fd`).
    @discardableResult
    func run(_ command: String, _ arguments: JSONValue?, passing descriptors: [Int32]) async throws -> JSONValue {
        do {
            return try await execute(command, arguments: arguments, passing: descriptors)
        } catch let error as QMPError {
            throw JobError.engine(EngineFailure(error), operation: .create)
        }
    }
}
