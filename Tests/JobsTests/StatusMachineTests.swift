import Foundation
import JSON
import JobModel
import Testing

@testable import Jobs

/// `StatusMachine`, the decision each JOB_STATUS_CHANGE makes, and the closing of a job the engine lost: plain
/// values, no actor, no files.
@Suite struct StatusMachineTests {
    let time = Date(timeIntervalSince1970: 1_800_000_000)

    func record(_ status: JobStatus, run: Int = 1) -> JobRecord {
        var record = JobRecord(id: "b0", type: .backup, status: .created, createdAt: time)
        record.run = run
        if status != .created { record.enter(status, at: time) }
        return record
    }

    func step(_ current: JobRecord?, _ next: JobStatus, context: StatusMachine.Context? = nil) -> StatusMachine.Step {
        StatusMachine.step(
            current: current, next: next, id: "b0", at: time,
            context: context ?? StatusMachine.Context(creation: nil, refusal: nil, nextRun: (current?.run ?? 0) + 1))
    }

    @Test("every cell of QEMU's transition table: the status is entered, and one outside the table is flagged")
    func everyCell() {
        var flagged = 0
        for from in JobStatus.allCases where from != .null {
            for to in JobStatus.allCases {
                let expected = from != to && !from.canTransition(to: to)
                #expect(step(record(from), to) == .enter(to, outsideTable: expected), "\(from) -> \(to)")
                if expected { flagged += 1 }
            }
        }
        // 10 live statuses x 11: QEMU 7.2's JobSTT (job.c) allows 19 changes between different statuses
        // (U: C; C: R X N; R: P Y W X; P: R; Y: S W X; S: Y; W: D X; D: X E; X: E; E: N).
        #expect(flagged == 10 * 11 - 10 - 19)
    }

    @Test("a gone job is final: a new `created` starts the next run, anything else is ignored")
    func idReuse() throws {
        let gone = record(.null, run: 3)
        guard case .newRun(let next) = step(gone, .created) else {
            Issue.record("no new run")
            return
        }
        #expect(next.run == 4 && next.status == .created && next.statusHistory.map(\.status) == [.created])
        for status in JobStatus.allCases where status != .created {
            #expect(step(gone, status) == .ignore, "\(status)")
        }
    }

    @Test("an id never seen starts a run with what the creation under way says; a job first seen later too")
    func firstSight() {
        let request: JSONValue = ["type": "backup", "id": "b0"]
        let context = StatusMachine.Context(creation: (.backup, request), refusal: nil, nextRun: 1)
        guard case .newRun(let created) = step(nil, .created, context: context) else {
            Issue.record("no new run")
            return
        }
        #expect(created.type == .backup && created.request == request && created.run == 1 && !created.refused)
        guard case .newRun(let adopted) = step(nil, .running) else {
            Issue.record("a job first seen running starts no run")
            return
        }
        #expect(adopted.status == .running && adopted.type == nil)
    }

    @Test("a job created inside a refused command starts a run marked refused, with QEMU's reason")
    func refusedCreation() {
        let refusal = JobManager.PendingRefusal(
            reason: "Transaction aborted using Abort action", type: .backup,
            request: ["action": "blockdev-backup", "data": ["job-id": "b0"]], noted: time)
        let context = StatusMachine.Context(creation: nil, refusal: refusal, nextRun: 2)
        guard case .newRun(var record) = step(nil, .created, context: context) else {
            Issue.record("no new run")
            return
        }
        #expect(record.refused && record.error == refusal.reason && record.type == .backup && record.run == 2)
        #expect(record.request == refusal.request)
        // Its rollback: aborting, concluded, null, all in QEMU's table; the outcome stays `refused`.
        for status: JobStatus in [.aborting, .concluded, .null] {
            #expect(step(record, status) == .enter(status, outsideTable: false))
            record.enter(status, at: time)
        }
        #expect(record.stats(now: time).outcome == .refused)
    }

    @Test("drain pairs are ordinary transitions of QEMU's table")
    func drainPairs() {
        #expect(step(record(.running), .paused) == .enter(.paused, outsideTable: false))
        #expect(step(record(.paused), .running) == .enter(.running, outsideTable: false))
        #expect(step(record(.ready), .standby) == .enter(.standby, outsideTable: false))
        #expect(step(record(.standby), .ready) == .enter(.ready, outsideTable: false))
    }

    @Test("engine loss: a live job ends with the engine's reason; one that left unseen has outcome unknown")
    func engineLoss() {
        var replaced = record(.running)
        replaced.closeAfterVanishing(engineReplacedBecause: "the QEMU engine exited", at: time)
        #expect(replaced.status == .concluded)
        #expect(replaced.error?.contains("the QEMU engine exited while the job was running") == true)
        #expect(replaced.stats(now: time).outcome == .failed)

        var unseen = record(.running)
        unseen.closeAfterVanishing(engineReplacedBecause: nil, at: time)
        #expect(unseen.status == .null && unseen.stats(now: time).outcome == .unknown)

        var concluded = record(.concluded)
        concluded.closeAfterVanishing(engineReplacedBecause: nil, at: time)
        #expect(concluded.status == .null && concluded.stats(now: time).outcome == .completed)
    }
}
