import Foundation
import JSON
import JobModel

/// What QEMU's job events do to jobgate's records, as pure functions: a `JOB_STATUS_CHANGE` (`step`, from the id's
/// current record, the event, and what jobgate knows of requests under way), a `BLOCK_JOB_*` event
/// (`applying(blockJobEvent:)`, StatusMachine+BlockJobEvents.swift), and the transition table's check
/// (`isOutsideTable`). `JobManager+Events` carries out the steps (stages, persists, publishes); the decisions are
/// unit-tested without an actor or a disk (`StatusMachineTests`, `BlockJobEventTests`).
enum StatusMachine {
    /// The outcome of one status change.
    enum Step: Equatable {
        /// A new run of the id starts with this record: the id was never seen, or its last job is gone (QEMU lets an
        /// id be reused once its job is dismissed).
        case newRun(JobRecord)
        /// The current run enters `status`. `outsideTable` when QEMU's transition table (`job.c` `JobSTT`) has no
        /// such transition: applied anyway, since QEMU says so, and reported.
        case enter(JobStatus, outsideTable: Bool)
        /// Nothing changes: a status for a run that is over (`null` is final) that does not start a new one.
        case ignore
    }

    /// What jobgate knows of the request that may have created the job.
    struct Context {
        /// The type and the request body of a creation under way for this id (`JobManager.creations`).
        var creation: (type: JobType, request: JSONValue)?
        /// The refusal of a command that created and rolled back this id (`JobManager.pendingRefusals`).
        var refusal: JobManager.PendingRefusal?
        /// The run number a new run of the id gets.
        var nextRun: Int
    }

    static func step(current: JobRecord?, next: JobStatus, id: String, at time: Date, context: Context) -> Step {
        guard let current, current.status != .null || next != .created else {
            var record = JobRecord(id: id, type: context.creation?.type, status: next, createdAt: time)
            record.request = context.creation?.request
            if let refusal = context.refusal {
                record.type = record.type ?? refusal.type
                record.request = record.request ?? refusal.request
                record.markRefused(because: refusal.reason)
            }
            record.run = context.nextRun
            return .newRun(record)
        }
        if current.status == .null { return .ignore }
        return .enter(next, outsideTable: isOutsideTable(current.status, next))
    }

    /// Whether a change from `current` to `next` is one QEMU's transition table (`job.c` `JobSTT`) does not have;
    /// staying in a status is not a change.
    static func isOutsideTable(_ current: JobStatus, _ next: JobStatus) -> Bool {
        current != next && !current.canTransition(to: next)
    }
}
