import QMP

/// What went wrong asking QEMU, as callers of `Jobs` see it; QMP's own error type stays behind this module.
public enum EngineFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// QEMU refused the command: its class and text, verbatim (class CommandNotFound: QEMU lacks the command).
    case refused(EngineRefusal)
    /// QEMU did not answer within the QMP timeout; the text names the command and the timeout.
    case timeout(String)
    /// No engine to ask: not connected, the connection closed, or it does not answer its liveness probes.
    case unavailable(String)
    /// QEMU sent something that is not QMP.
    case protocolViolation(String)

    init(_ error: QMPError) {
        switch error {
        case .command(let refusal):
            self = .refused(EngineRefusal(errorClass: refusal.errorClass, description: refusal.description))
        case .timeout: self = .timeout(error.description)
        case .protocolViolation: self = .protocolViolation(error.description)
        case .notConnected, .disconnected, .connectFailed, .noGreeting, .unresponsive:
            self = .unavailable(error.description)
        }
    }

    public var description: String {
        switch self {
        case .refused(let refusal): "\(refusal.errorClass): \(refusal.description)"
        case .timeout(let text), .unavailable(let text), .protocolViolation(let text): text
        }
    }
}

/// QEMU's refusal of a command, or its words for a case jobgate refuses first (`QEMUWording`): QMP's error
/// `class` and `desc`.
public struct EngineRefusal: Sendable, Equatable {
    /// `GenericError`, `DeviceNotActive`, `CommandNotFound`, ...
    public var errorClass: String
    /// QEMU's text, verbatim.
    public var description: String

    public init(errorClass: String, description: String) {
        self.errorClass = errorClass
        self.description = description
    }
}
