import Foundation

/// Everything that can go wrong talking QMP.
public enum QMPError: Error, Sendable, Equatable {
    /// No engine is connected right now (starting, restarting, or gone).
    case notConnected
    /// The socket could not be reached: `path`, and the system's reason.
    case connectFailed(path: String, reason: String)
    /// The socket accepted the connection but no greeting came within `seconds` (another client is attached,
    /// or the engine hangs).
    case noGreeting(seconds: Double)
    /// The connection closed while the command was waiting for its answer.
    case disconnected
    /// The engine did not answer `command` within `seconds`.
    case timeout(command: String, seconds: Double)
    /// The engine has not answered its liveness probes for `seconds`; the command was not sent.
    case unresponsive(seconds: Double)
    /// The engine sent something that is not QMP.
    case protocolViolation(String)
    /// QEMU refused the command: its `class` and `desc`, verbatim.
    case command(QMPRemoteError)
}

extension QMPError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notConnected: "the QEMU engine is not connected"
        case .connectFailed(let path, let reason): "cannot connect to QMP socket \(path): \(reason)"
        case .noGreeting(let seconds):
            "no QMP greeting within \(seconds) s (another client attached, or the engine hangs)"
        case .disconnected: "the QEMU engine closed the QMP connection"
        case .timeout(let command, let seconds): "the QEMU engine did not answer '\(command)' within \(seconds) s"
        case .unresponsive(let seconds):
            "the QEMU engine has not answered QMP for \(String(format: "%.1f", seconds)) s; the command was not sent"
        case .protocolViolation(let what): "QMP protocol violation: \(what)"
        case .command(let error): "\(error.errorClass): \(error.description)"
        }
    }
}
