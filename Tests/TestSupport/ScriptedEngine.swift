import JSON
import JobModel
import QMP
import Synchronization

/// A `QMPExecuting` fake for unit tests: answers each command from a script and records what it was asked.
public final class ScriptedEngine: QMPExecuting {
    private let script: @Sendable (String, JSONValue?) throws -> JSONValue
    private let log = Mutex<[(String, JSONValue?)]>([])

    /// - Parameter script: the answer per command; throw `QMPError.command(...)` to refuse.
    public init(_ script: @escaping @Sendable (String, JSONValue?) throws -> JSONValue = { _, _ in [] }) {
        self.script = script
    }

    /// The commands executed so far, in order.
    public var commands: [String] { log.withLock { $0.map(\.0) } }

    /// The arguments of the last call of `command`.
    public func lastArguments(of command: String) -> JSONValue? {
        log.withLock { $0.last { $0.0 == command }?.1 }
    }

    public func execute(_ command: String, arguments: JSONValue?) async throws -> JSONValue {
        log.withLock { $0.append((command, arguments)) }
        return try script(command, arguments)
    }

    /// How many descriptors each call that passed any was given, in order.
    public var passedDescriptorCounts: [Int] { passed.withLock { $0 } }
    private let passed = Mutex<[Int]>([])

    public func execute(_ command: String, arguments: JSONValue?, passing descriptors: [Int32]) async throws
        -> JSONValue
    {
        passed.withLock { $0.append(descriptors.count) }
        return try await execute(command, arguments: arguments)
    }
}
