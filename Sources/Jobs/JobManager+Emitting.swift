import Foundation
import JSON
import JobModel
import QMP

extension JobManager {
    /// The least time between two `JOB_PROGRESS` events of one job.
    static let progressEventInterval = 0.5

    /// Journals a sampling's `JOB_PROGRESS` events (written, not fdatasync'd: progress is not worth one), then hands
    /// them to the subscribers at once. Dropped if the journal cannot take them.
    func emitProgress(_ batch: [JobEvent]) {
        guard !batch.isEmpty else { return }
        do {
            try eventJournal?.append(events: batch.map(\.journalEntry), durable: false)
        } catch {
            noteStorageFailure(error)
            return
        }
        events.append(contentsOf: batch)
    }

    /// Passes on one of QEMU's `BLOCK_JOB_*` events about `job`, with QEMU's data.
    func emitEngineEvent(_ event: QMPEvent, job: String) {
        let type = latest(job)?.type
        let make: @Sendable (EventID) -> JobEvent = { id in
            JobEvent(id: id, name: event.name, job: job, jobType: type, data: event.data, at: event.timestamp)
        }
        stage(.event(make), of: nil, durably: false)
    }

    /// `JOB_PROGRESS` for `record` if its progress moved and the last one is at least `progressEventInterval`
    /// old, else nil. The caller emits it (the events of one sampling go out together).
    func progressEvent(for record: JobRecord, at time: Date) -> JobEvent? {
        if let last = lastProgressEvent[record.id],
            last.current == record.currentProgress || time.timeIntervalSince(last.at) < Self.progressEventInterval
        {
            return nil
        }
        guard record.status != .null, record.status != .concluded else { return nil }
        lastProgressEvent[record.id] = (time, record.currentProgress)
        let stats = record.stats(now: time)
        return JobEvent(
            id: book.nextEventID(), name: "JOB_PROGRESS", job: record.id, jobType: record.type,
            data: [
                "id": .string(record.id), "type": record.type.map { .string($0.rawValue) } ?? .null,
                "status": .string(record.status.rawValue), "current-progress": .int(record.currentProgress),
                "total-progress": .int(record.totalProgress), "rate": stats.recentRate.map(JSONValue.double) ?? .null,
            ],
            at: time)
    }
}
