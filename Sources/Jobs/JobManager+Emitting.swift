import Foundation
import JobModel
import QMP

extension JobManager {
    /// The least time between two `JOB_PROGRESS` events of one job.
    static let progressEventInterval = 0.5

    /// Journals `event`, then hands it to the subscribers: an event is in the journal before any client sees it.
    /// - Parameter durable: fsync the journal (status and QEMU events); progress events are not worth an fsync.
    func emit(_ event: JobEvent, durable: Bool = true) {
        emit([event], durable: durable)
    }

    /// Journals `batch` (in order), then hands it to the subscribers at once.
    func emit(_ batch: [JobEvent], durable: Bool) {
        guard !batch.isEmpty else { return }
        do {
            try eventJournal?.append(batch.map(\.journalEntry), durable: durable)
        } catch {
            logger.error("could not append to the event journal", metadata: ["error": "\(error)"])
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
