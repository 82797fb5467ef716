import Foundation
import JSON
import JobModel

/// Which engine a `JobManager` drives, as `GET /engines` names it: jobgate's own (`local`, started and
/// supervised by jobgate) or one attached with `--qmp-socket` (never started or stopped by jobgate).
public struct EngineIdentity: Sendable {
    public var name: String
    public var socketPath: String
    /// Whether jobgate started the engine (and replaces it when it dies or hangs).
    public var isOwned: Bool

    public init(name: String = "local", socketPath: String, isOwned: Bool) {
        self.name = name
        self.socketPath = socketPath
        self.isOwned = isOwned
    }
}

/// One engine as `GET /engines` shows it, at one moment.
public struct EngineReport: Sendable {
    /// `connecting`: no QMP connection (starting, reconnecting, or the engine is away); `ready`: it answers;
    /// `unresponsive`: connected, but its liveness probes go unanswered.
    public enum State: String, Sendable {
        case connecting, ready, unresponsive
    }

    public var identity: EngineIdentity
    public var state: State
    /// Since when it is in `state` (for `connecting`, since jobgate started or the connection dropped).
    public var since: Date?
    public var version: String?
    public var package: String?
    /// Why it is not connected, when known.
    public var problem: String?
    /// Its jobs QEMU still has at work, and every record of its jobs (all runs) jobgate keeps.
    public var liveJobs: Int
    public var records: Int

    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "name": .string(identity.name), "qmp-socket": .string(identity.socketPath),
            "owned": .bool(identity.isOwned), "state": .string(state.rawValue),
            "since": since.map { .string(Timestamp.format($0)) } ?? .null,
            "qemu": version.map { ["version": .string($0), "package": .string(package ?? "")] } ?? .null,
            "jobs": ["live": .int(Int64(liveJobs)), "records": .int(Int64(records))],
        ]
        if let problem { members["problem"] = .string(problem) }
        return .object(members)
    }
}

extension JobManager {
    /// The engine this manager drives, now. Any thread; never waits.
    public nonisolated var engineReport: EngineReport {
        let snapshot = status.snapshot
        let state: EngineReport.State
        let since: Date?
        if snapshot.isConnected, let silent = snapshot.unresponsiveSince {
            (state, since) = (.unresponsive, silent)
        } else if snapshot.isConnected {
            (state, since) = (.ready, snapshot.connectedSince)
        } else {
            (state, since) = (.connecting, snapshot.disconnectedSince)
        }
        return EngineReport(
            identity: engineIdentity, state: state, since: since, version: snapshot.version?.description,
            package: snapshot.package, problem: snapshot.isConnected ? nil : snapshot.lastProblem,
            liveJobs: book.liveIDs.count, records: book.count)
    }
}
