import Foundation
import JSON
import JobModel

/// One line of QMP traffic from the server, classified (QMP spec, `docs/interop/qmp-spec.rst`).
public enum QMPMessage: Sendable, Equatable {
    /// `{"QMP": {"version": ..., "capabilities": [...]}}`, sent once when a client connects.
    case greeting(QMPGreeting)
    /// `{"return": ..., "id": ...}`.
    case success(id: JSONValue?, value: JSONValue)
    /// `{"error": {"class": ..., "desc": ...}, "id": ...}`.
    case failure(id: JSONValue?, QMPRemoteError)
    /// `{"event": ..., "data": ..., "timestamp": {...}}`.
    case event(QMPEvent)

    /// Classifies one decoded line.
    /// - Throws: `QMPError.protocolViolation` if the object is none of the four QMP shapes.
    public init(_ value: JSONValue) throws {
        guard let object = value.objectValue else {
            throw QMPError.protocolViolation("expected a JSON object, got \(value.typeName)")
        }
        if let greeting = object["QMP"] {
            self = .greeting(QMPGreeting(greeting))
        } else if let returned = object["return"] {
            self = .success(id: object["id"], value: returned)
        } else if let error = object["error"] {
            self = .failure(
                id: object["id"],
                QMPRemoteError(
                    errorClass: error["class"]?.stringValue ?? "GenericError",
                    description: error["desc"]?.stringValue ?? "(no description)"))
        } else if let name = object["event"]?.stringValue {
            let stamp = object["timestamp"]
            let time = Timestamp.fromQMP(
                seconds: stamp?["seconds"]?.intValue ?? 0, microseconds: stamp?["microseconds"]?.intValue ?? 0)
            self = .event(QMPEvent(name: name, data: object["data"] ?? .object([:]), timestamp: time))
        } else {
            throw QMPError.protocolViolation("unrecognised QMP message with keys \(object.keys.sorted())")
        }
    }
}

/// The server's greeting: which QEMU answers.
public struct QMPGreeting: Sendable, Equatable {
    public var version: QEMUVersion
    public var package: String

    init(_ value: JSONValue) {
        let qemu = value["version"]?["qemu"]
        version = QEMUVersion(
            major: Int(qemu?["major"]?.intValue ?? 0), minor: Int(qemu?["minor"]?.intValue ?? 0),
            micro: Int(qemu?["micro"]?.intValue ?? 0))
        package = value["version"]?["package"]?.stringValue ?? ""
    }

    public init(version: QEMUVersion, package: String = "") {
        self.version = version
        self.package = package
    }
}

/// An asynchronous QMP event, with QEMU's own timestamp.
public struct QMPEvent: Sendable, Equatable {
    public var name: String
    public var data: JSONValue
    public var timestamp: Date

    public init(name: String, data: JSONValue, timestamp: Date) {
        self.name = name
        self.data = data
        self.timestamp = timestamp
    }
}

/// QMP's `{"error": {"class", "desc"}}`, kept verbatim.
public struct QMPRemoteError: Sendable, Equatable {
    /// `GenericError`, `DeviceNotActive`, `CommandNotFound`, ...
    public var errorClass: String
    /// QEMU's own text, e.g. `Job 'b0' in state 'running' cannot accept command verb 'dismiss'`.
    public var description: String

    public init(errorClass: String, description: String) {
        self.errorClass = errorClass
        self.description = description
    }
}
