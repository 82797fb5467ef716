import JSON
import JobModel

/// Something that runs QMP commands: the real `QMPClient`, or a fake in unit tests.
public protocol QMPExecuting: Sendable {
    /// Runs `command` with `arguments` and returns QMP's `return` value.
    /// - Throws: `QMPError` (`.command` carries QEMU's refusal; `.timeout` if no answer came in time).
    func execute(_ command: String, arguments: JSONValue?) async throws -> JSONValue

    /// Runs `command` with open file `descriptors` passed along (`SCM_RIGHTS`), for `add-fd`. The caller keeps
    /// and closes its own copies.
    /// - Throws: as `execute(_:arguments:)`.
    func execute(_ command: String, arguments: JSONValue?, passing descriptors: [Int32]) async throws -> JSONValue
}

/// What the QMP client tells its one listener, in the order it happened on the wire.
public enum QMPSignal: Sendable, Equatable {
    /// A connection is ready for commands (greeting read, capabilities negotiated).
    case connected(QMPGreeting)
    /// An event from the engine.
    case event(QMPEvent)
    /// The connection is gone; commands fail with `.notConnected` until the next `.connected`.
    case disconnected(reason: String)
}
