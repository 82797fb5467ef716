import Foundation
import JSON
import JobModel
import Testing

@testable import Jobs

/// What QEMU's `BLOCK_JOB_*` events change in a record (`StatusMachine.applying(blockJobEvent:)`): plain values,
/// no actor, no files.
@Suite struct BlockJobEventTests {
    let time = Date(timeIntervalSince1970: 1_800_000_000)

    var running: JobRecord {
        var record = JobRecord(id: "m0", type: .mirror, status: .created, createdAt: time.addingTimeInterval(-10))
        record.enter(.running, at: time.addingTimeInterval(-9))
        record.currentProgress = 10
        record.totalProgress = 100
        return record
    }

    func apply(_ name: String, _ data: JSONValue) -> JobRecord? {
        StatusMachine.applying(blockJobEvent: name, data: data, at: time, to: running)
    }

    @Test("each event names its job where QEMU puts it: `id` or `device`")
    func subject() {
        #expect(StatusMachine.subject(ofEvent: "JOB_STATUS_CHANGE", data: ["id": "a", "status": "running"]) == "a")
        #expect(StatusMachine.subject(ofEvent: "BLOCK_JOB_PENDING", data: ["type": "backup", "id": "a"]) == "a")
        for name in ["BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_READY", "BLOCK_JOB_ERROR"] {
            #expect(StatusMachine.subject(ofEvent: name, data: ["device": "d", "id": "x"]) == "d")
        }
        #expect(StatusMachine.subject(ofEvent: "SHUTDOWN", data: ["id": "a"]) == nil)
    }

    @Test("COMPLETED and READY copy QEMU's figures; an error is kept")
    func figures() throws {
        let ready = try #require(
            apply("BLOCK_JOB_READY", ["device": "m0", "offset": 100, "len": 100, "speed": 0, "type": "mirror"]))
        #expect(ready.currentProgress == 100 && ready.totalProgress == 100 && ready.speed == 0 && ready.error == nil)
        #expect(ready.updatedAt == time && ready.status == .running)
        let failed = try #require(
            apply(
                "BLOCK_JOB_COMPLETED",
                ["device": "m0", "offset": 40, "len": 100, "speed": 0, "error": "No space left on device"]))
        #expect(failed.currentProgress == 40 && failed.error == "No space left on device")
    }

    @Test("CANCELLED without an error reads QEMU's \"Operation canceled\"")
    func cancelled() throws {
        let cancelled = try #require(
            apply("BLOCK_JOB_CANCELLED", ["device": "m0", "offset": 50, "len": 100, "speed": 0]))
        #expect(cancelled.error == "Operation canceled" && cancelled.currentProgress == 50)
    }

    @Test("ERROR records the operation and the action; PENDING changes no record")
    func ioErrorAndPending() throws {
        let error = try #require(apply("BLOCK_JOB_ERROR", ["device": "m0", "operation": "write", "action": "stop"]))
        #expect(error.lastIOError == JobRecord.IOErrorReport(operation: "write", action: "stop", at: time))
        #expect(error.error == nil)
        #expect(apply("BLOCK_JOB_PENDING", ["type": "mirror", "id": "m0"]) == nil)
    }
}
