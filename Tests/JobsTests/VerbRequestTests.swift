import Foundation
import JSON
import JobModel
import QMP
import Testing

@testable import Jobs

/// A verb request's checks and QMP command (`VerbRequest`): plain values, no actor, no engine.
@Suite struct VerbRequestTests {
    let qemu72 = QEMUVersion(major: 7, minor: 2, micro: 22)
    let qemu82 = QEMUVersion(major: 8, minor: 2)

    func record(_ status: JobStatus, type: JobType = .mirror) -> JobRecord {
        var record = JobRecord(id: "m0", type: type, status: .created, createdAt: Date())
        if status != .created { record.enter(status, at: Date()) }
        return record
    }

    func request(_ verb: JobVerb, _ body: [String: JSONValue] = [:], _ record: JobRecord?, engine: QEMUVersion? = nil)
        throws -> VerbRequest
    {
        try VerbRequest(verb, to: "m0", body: body, record: record, engine: engine ?? qemu72)
    }

    @Test("an allowed verb becomes QEMU's command with the job's id")
    func commands() throws {
        let pause = try request(.pause, [:], record(.running))
        #expect(pause.command == "job-pause" && pause.arguments == ["id": "m0"])
        let soft = try request(.cancel, ["force": false], record(.ready))
        #expect(soft.command == "block-job-cancel" && soft.arguments == ["device": "m0", "force": false])
        let speed = try request(.setSpeed, ["speed": 1024], record(.running))
        #expect(speed.command == "block-job-set-speed" && speed.arguments == ["device": "m0", "speed": 1024])
        let change = try request(.change, ["copy-mode": "write-blocking"], record(.ready), engine: qemu82)
        #expect(change.arguments == ["id": "m0", "type": "mirror", "copy-mode": "write-blocking"])
    }

    @Test("refusals come in QEMU's order, in QEMU's words where QEMU would answer")
    func refusals() {
        #expect(throws: JobError.inQEMUWords(.unknownJob("m0"), QEMUWording.jobNotFound("m0", command: "job-pause"))) {
            try request(.pause, [:], nil)
        }
        #expect(throws: JobError.verbNotAllowed(id: "m0", verb: .complete, status: .running)) {
            try request(.complete, [:], record(.running))
        }
        #expect {
            try request(.setSpeed, [:], record(.running))
        } throws: { error in
            if case JobError.invalidField(let field, _) = error { return field == "speed" }
            return false
        }
        #expect(
            throws: JobError.inQEMUWords(
                .notABlockJob(id: "m0", type: .create, verb: .setSpeed),
                QEMUWording.jobNotFound("m0", command: "block-job-set-speed"))
        ) { try request(.setSpeed, ["speed": 1], record(.running, type: .create)) }
        // Before QEMU 8.2 the command does not exist: that comes before the job is looked for.
        #expect(
            throws: JobError.inQEMUWords(
                .unsupportedByEngine(
                    feature: "the 'change' verb (block-job-change)", version: qemu72, since: .blockJobChange),
                QEMUWording.commandNotFound("block-job-change"))
        ) { try request(.change, ["copy-mode": "background"], nil) }
        var ended = record(.concluded)
        ended.enter(.null, at: Date())
        #expect(
            throws: JobError.jobEnded(
                id: "m0", verb: .dismiss, qemu: QEMUWording.jobNotFound("m0", command: "job-dismiss"))
        ) {
            try request(.dismiss, [:], ended)
        }
    }
}
