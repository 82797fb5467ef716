import Foundation
import JSON

extension JobRecord {
    /// A finished record holding only its listing fields (`isPartial`), as the store's finished-record formats
    /// read it (Store/FinishedRecordFormats.swift); its full JSON text is served as stored.
    public static func partialRecord(
        id: String, run: Int64, type: JobType?, createdAt: Date, updatedAt: Date, current: Int64, total: Int64,
        error: String?, stats: JobStats
    ) -> JobRecord {
        var record = JobRecord(id: id, type: type, status: .null, createdAt: createdAt)
        record.run = Int(run)
        record.currentProgress = current
        record.totalProgress = total
        record.error = error
        record.updatedAt = updatedAt
        record.statusHistory = []
        record.isPartial = true
        record.finalStats = stats
        return record
    }
}
