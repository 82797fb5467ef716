import Foundation
import JSON
import JobModel
import Logging
import QMP
import Synchronization
import TestSupport
import Testing

/// A QEMU of the differential tests' own: `qemu-system-<arch> -machine none`, driven over QMP directly (no
/// jobgate in between) with the QMP module's client, every event recorded with QEMU's timestamp.
final class BareQEMU: Sendable {
    let directory: String
    private let process: ChildProcess
    private let client: QMPClient
    private let events: EventLog
    private let pump: Task<Void, Never>

    /// The events read so far, shared with the task that reads them.
    private final class EventLog: Sendable {
        let events = Mutex<[QMPEvent]>([])
    }

    private init(directory: String, process: ChildProcess, client: QMPClient) {
        self.directory = directory
        self.process = process
        self.client = client
        let log = EventLog()
        self.events = log
        self.pump = Task {
            for await signal in client.signals {
                if case .event(let event) = signal { log.events.withLock { $0.append(event) } }
            }
        }
    }

    /// Starts QEMU with its monitor in `directory` (whose `images/` holds the images) and connects.
    static func start(directory: String) async throws -> BareQEMU {
        let binary = try #require(
            ChildProcess.find(EngineHost.defaultBinary(for: .system)), "QEMU is not installed (scripts/deps.sh)")
        let socket = directory + "/bare-qmp.sock"
        let process = try ChildProcess(
            binary,
            ["-machine", "none", "-nodefaults", "-display", "none", "-qmp", "unix:\(socket),server=on,wait=off"],
            outputPath: directory + "/bare-qemu.out")
        let client = QMPClient(commandTimeout: .seconds(20), logger: Logger(label: "bare-qemu"))
        let up = try await eventually(timeout: .seconds(20)) { FileManager.default.fileExists(atPath: socket) }
        try #require(up, "the bare QEMU did not open its monitor: \(process.output)")
        _ = try await client.connect(socketPath: socket)
        return BareQEMU(directory: directory, process: process, client: client)
    }

    /// What QEMU answered a command.
    enum Answer {
        case success(JSONValue)
        case failure(QMPRemoteError)
    }

    /// Runs one command: its return value, or QEMU's refusal.
    func execute(_ command: String, _ arguments: JSONValue?) async throws -> Answer {
        do {
            return .success(try await client.execute(command, arguments: arguments))
        } catch QMPError.command(let refusal) {
            return .failure(refusal)
        }
    }

    /// The statuses of job `id` from its JOB_STATUS_CHANGE events since `time`, with QEMU's timestamps.
    func statuses(of id: String, since time: Date) -> [(status: String, at: Date)] {
        events.events.withLock { events in
            events.compactMap { event in
                guard event.name == "JOB_STATUS_CHANGE", event.timestamp >= time, event.data["id"]?.stringValue == id,
                    let status = event.data["status"]?.stringValue
                else { return nil }
                return (status, event.timestamp)
            }
        }
    }

    func stop() async {
        await client.disconnect()
        await client.finish()
        pump.cancel()
        process.signal(SIGKILL)
        _ = await process.wait(timeout: .seconds(5))
    }
}
