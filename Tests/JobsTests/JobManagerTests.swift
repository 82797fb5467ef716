import Foundation
import Gateway
import JSON
import JobModel
import Logging
import QMP
import TestSupport
import Testing

@testable import Jobs

/// The job manager against a scripted engine: the verb gate, QMP command mapping, and events into records.
@Suite struct JobManagerTests {
    func event(_ name: String, _ data: JSONValue) -> QMPSignal {
        .event(QMPEvent(name: name, data: data, timestamp: Date()))
    }

    func makeManager(_ engine: ScriptedEngine, version: QEMUVersion = QEMUVersion(major: 7, minor: 2, micro: 22))
        -> JobManager
    {
        let status = EngineStatus()
        status.markConnected(QMPGreeting(version: version))
        return JobManager(
            engine: engine, policy: testPolicy(), status: status, events: EventHub(encoding: ServerSentEvents()),
            logger: Logger(label: "test"))
    }

    /// Creates backup "b0" and feeds the given statuses as JOB_STATUS_CHANGE events.
    func runJob(_ manager: JobManager, through statuses: [JobStatus]) async throws {
        _ = try await manager.create(
            type: .backup, id: "b0", arguments: ["device": "s", "target": "t", "sync": "full"], request: [:])
        let (stream, continuation) = AsyncStream.makeStream(of: QMPSignal.self)
        for status in statuses {
            continuation.yield(event("JOB_STATUS_CHANGE", ["id": "b0", "status": .string(status.rawValue)]))
        }
        continuation.finish()
        await manager.run(signals: stream)
    }

    @Test("verbs the table forbids never reach QEMU", arguments: [JobVerb.dismiss, .complete, .finalize])
    func gateRefuses(verb: JobVerb) async throws {
        let engine = ScriptedEngine()
        let manager = makeManager(engine)
        try await runJob(manager, through: [.created, .running])
        await #expect(throws: JobError.verbNotAllowed(id: "b0", verb: verb, status: .running)) {
            try await manager.apply(verb, to: "b0", body: [:])
        }
        #expect(!engine.commands.contains { $0.hasPrefix("job-") })
    }

    @Test("each verb maps onto its QMP command")
    func verbCommands() async throws {
        let engine = ScriptedEngine()
        let manager = makeManager(engine)
        try await runJob(manager, through: [.created, .running])
        _ = try await manager.apply(.pause, to: "b0", body: [:])
        _ = try await manager.apply(.cancel, to: "b0", body: ["force": false])
        _ = try await manager.apply(.cancel, to: "b0", body: [:])
        _ = try await manager.apply(.setSpeed, to: "b0", body: ["speed": 0])
        #expect(engine.commands.suffix(4) == ["job-pause", "block-job-cancel", "job-cancel", "block-job-set-speed"])
        #expect(engine.lastArguments(of: "block-job-cancel") == ["device": "b0", "force": false])
        #expect(engine.lastArguments(of: "block-job-set-speed") == ["device": "b0", "speed": 0])
        await #expect(throws: JobError.self) { try await manager.apply(.setSpeed, to: "b0", body: ["speed": -1]) }
        await #expect(throws: JobError.self) { try await manager.apply(.pause, to: "b0", body: ["bogus": 1]) }
    }

    @Test("change needs QEMU 8.2: refused on 7.2 naming the version, sent as block-job-change on 8.2")
    func changeGate() async throws {
        let old = ScriptedEngine()
        let manager = makeManager(old)
        try await runJob(manager, through: [.created, .running])
        await #expect(
            throws: JobError.inQEMUWords(
                .unsupportedByEngine(
                    feature: "the 'change' verb (block-job-change)",
                    version: QEMUVersion(major: 7, minor: 2, micro: 22), since: .blockJobChange),
                EngineRefusal(
                    errorClass: "CommandNotFound", description: "The command block-job-change has not been found"))
        ) {
            try await manager.apply(.change, to: "b0", body: ["copy-mode": "write-blocking"])
        }
        let new = ScriptedEngine()
        let newer = makeManager(new, version: QEMUVersion(major: 8, minor: 2))
        try await runJob(newer, through: [.created, .running])
        _ = try await newer.apply(.change, to: "b0", body: ["copy-mode": "write-blocking"])
        #expect(
            new.lastArguments(of: "block-job-change") == ["id": "b0", "type": "backup", "copy-mode": "write-blocking"])
    }

    @Test("status events become the record's status and history; a dismissed job keeps its record")
    func eventsIntoRecords() async throws {
        let manager = makeManager(ScriptedEngine())
        try await runJob(manager, through: [.created, .running, .waiting, .pending, .concluded, .null])
        let record = try #require(manager.book.record("b0"))
        #expect(record.status == .null)
        #expect(record.statusHistory.map(\.status) == [.created, .running, .waiting, .pending, .concluded, .null])
        #expect(record.allowedVerbs.isEmpty)
        // QEMU no longer knows the job: its words, with jobgate's 409 for a record whose status allows no verb.
        let ended = JobError.jobEnded(
            id: "b0", verb: .dismiss, qemu: EngineRefusal(errorClass: "GenericError", description: "Job not found"))
        await #expect(throws: ended) { try await manager.apply(.dismiss, to: "b0", body: [:]) }
    }

    @Test("the job id follows QEMU's rule")
    func jobIDs() {
        #expect(QEMUIdentifier.isWellFormed("b0"))
        #expect(QEMUIdentifier.isWellFormed("a-b.c_d"))
        #expect(!QEMUIdentifier.isWellFormed("1bad"))
        #expect(!QEMUIdentifier.isWellFormed(""))
        #expect(!QEMUIdentifier.isWellFormed("a b"))
        #expect(!QEMUIdentifier.isWellFormed("é"))
    }
}

/// How a creation's reply and its events meet in the records, whatever their order.
@Suite struct JobAdoptionTests {
    func statusEvents(_ id: String, _ statuses: [JobStatus]) -> AsyncStream<QMPSignal> {
        let (stream, continuation) = AsyncStream.makeStream(of: QMPSignal.self)
        for status in statuses {
            continuation.yield(
                .event(
                    QMPEvent(
                        name: "JOB_STATUS_CHANGE", data: ["id": .string(id), "status": .string(status.rawValue)],
                        timestamp: Date())))
        }
        continuation.finish()
        return stream
    }

    @Test("a quick job whose events came first keeps one run; a reused id starts a new run and keeps the old")
    func adoption() async throws {
        let manager = JobManager(
            engine: ScriptedEngine(), policy: testPolicy(), status: EngineStatus(),
            events: EventHub(encoding: ServerSentEvents()), logger: Logger(label: "test"))
        let start = Date()
        await manager.run(signals: statusEvents("q", [.created, .running, .waiting, .pending, .concluded, .null]))
        let adopted = try await manager.adopt("q", type: .backup, arguments: [:], request: ["id": "q"], since: start)
        #expect(adopted.run == 1)
        #expect(manager.book.runs(of: "q").count == 1)
        #expect(adopted.request == ["id": "q"])

        let again = try await manager.adopt("q", type: .backup, arguments: [:], request: ["id": "q2"], since: Date())
        #expect(again.run == 2)
        #expect(manager.book.runs(of: "q").map(\.run) == [1, 2])
    }
}
