import JobModel
import Testing

/// QEMU's `JobSTT` (job.c), transcribed cell by cell from QEMU 7.2's job.c. Row = from, column = to, in QEMU's
/// order U C R P Y S W D X E N. A silent edit of `JobStatus.successors` fails here.
private let transcribedTransitions: [JobStatus: String] = [
    .undefined: "0 1 0 0 0 0 0 0 0 0 0",
    .created: "0 0 1 0 0 0 0 0 1 0 1",
    .running: "0 0 0 1 1 0 1 0 1 0 0",
    .paused: "0 0 1 0 0 0 0 0 0 0 0",
    .ready: "0 0 0 0 0 1 1 0 1 0 0",
    .standby: "0 0 0 0 1 0 0 0 0 0 0",
    .waiting: "0 0 0 0 0 0 0 1 1 0 0",
    .pending: "0 0 0 0 0 0 0 0 1 1 0",
    .aborting: "0 0 0 0 0 0 0 0 1 1 0",
    .concluded: "0 0 0 0 0 0 0 0 0 0 1",
    .null: "0 0 0 0 0 0 0 0 0 0 0",
]

/// QEMU's column order.
private let qemuOrder: [JobStatus] = [
    .undefined, .created, .running, .paused, .ready, .standby, .waiting, .pending, .aborting, .concluded, .null,
]

@Suite struct JobStatusTransitionTests {
    @Test("the wire names and order are QEMU's")
    func wireNames() {
        #expect(JobStatus.allCases == qemuOrder)
        #expect(
            qemuOrder.map(\.rawValue) == [
                "undefined", "created", "running", "paused", "ready", "standby", "waiting", "pending", "aborting",
                "concluded", "null",
            ])
    }

    @Test("every cell of the 11x11 transition table equals QEMU's", arguments: JobStatus.allCases, JobStatus.allCases)
    func transitionCell(from: JobStatus, to: JobStatus) throws {
        let row = try #require(transcribedTransitions[from]).split(separator: " ")
        let expected = row[qemuOrder.firstIndex(of: to)!] == "1"
        #expect(from.canTransition(to: to) == expected, "\(from.rawValue) -> \(to.rawValue)")
    }

    @Test("job_is_ready and job_is_completed match QEMU's definitions")
    func predicates() {
        #expect(JobStatus.allCases.filter(\.isReady) == [.ready, .standby])
        #expect(JobStatus.allCases.filter(\.isCompleted) == [.waiting, .pending, .aborting, .concluded, .null])
    }
}
