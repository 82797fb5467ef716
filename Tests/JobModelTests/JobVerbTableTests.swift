import JobModel
import Testing

/// QEMU's `JobVerbTable` (job.c), transcribed cell by cell from QEMU 7.2's job.c. Columns in QEMU's order
/// U C R P Y S W D X E N.
private let transcribedVerbs: [JobVerb: String] = [
    .cancel: "0 1 1 1 1 1 1 1 0 0 0",
    .pause: "0 1 1 1 1 1 0 0 0 0 0",
    .resume: "0 1 1 1 1 1 0 0 0 0 0",
    .setSpeed: "0 1 1 1 1 1 0 0 0 0 0",
    .complete: "0 0 0 0 1 1 0 0 0 0 0",
    .dismiss: "0 0 0 0 0 0 0 0 0 1 0",
    .finalize: "0 0 0 0 0 0 0 1 0 0 0",
    .change: "0 1 1 1 1 1 0 0 0 0 0",
]

private let qemuOrder: [JobStatus] = [
    .undefined, .created, .running, .paused, .ready, .standby, .waiting, .pending, .aborting, .concluded, .null,
]

@Suite struct JobVerbTableTests {
    @Test("the verb names are QEMU's wire strings")
    func wireNames() {
        #expect(
            JobVerb.allCases.map(\.rawValue) == [
                "cancel", "pause", "resume", "set-speed", "complete", "dismiss", "finalize", "change",
            ])
        #expect(Set(transcribedVerbs.keys) == Set(JobVerb.allCases))
    }

    @Test("every cell of the 8x11 verb table equals QEMU's", arguments: JobVerb.allCases, JobStatus.allCases)
    func verbCell(verb: JobVerb, status: JobStatus) throws {
        let row = try #require(transcribedVerbs[verb]).split(separator: " ")
        let expected = row[qemuOrder.firstIndex(of: status)!] == "1"
        #expect(verb.isAllowed(in: status) == expected, "\(verb.rawValue) in \(status.rawValue)")
        #expect(JobVerb.allowed(in: status).contains(verb) == expected)
    }

    @Test("the refusal reads exactly as QEMU's")
    func refusalText() {
        #expect(
            JobVerb.dismiss.refusal(jobID: "x", status: .running)
                == "Job 'x' in state 'running' cannot accept command verb 'dismiss'")
        #expect(
            JobVerb.setSpeed.refusal(jobID: "b0", status: .concluded)
                == "Job 'b0' in state 'concluded' cannot accept command verb 'set-speed'")
    }
}
