import Foundation
import JSON
import JobModel
import QMP
import TestSupport
import Testing

/// The two sides of `DifferentialTests`: a bare QEMU and jobgate, each with nodes `src` (16 MiB, 1 MiB of data)
/// and `dst` attached. `compare` runs one row on both and says how the answers differ, or nil.
struct DifferentialSides {
    let gate: JobgateInstance
    let bare: BareQEMU

    init(gate: JobgateInstance, bare: BareQEMU) async throws {
        self.gate = gate
        self.bare = bare
        let images = bare.directory + "/bare-images"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        for (name, filled) in [("src", "1M"), ("dst", nil)] {
            try await QemuTools.makeImage(gate.imageRoot + "/\(name).qcow2", size: "16M", filled: filled)
            try await QemuTools.makeImage(images + "/\(name).qcow2", size: "16M", filled: filled)
            try await gate.addQcow2Node(name, file: "\(name).qcow2")
            let added = try await bare.execute(
                "blockdev-add",
                try Self.json(
                    #"{"node-name":"\#(name)","driver":"qcow2","file":{"driver":"file","filename":"\#(images)/\#(name).qcow2"}}"#
                ))
            if case .failure(let error) = added { Issue.record("bare blockdev-add \(name): \(error.description)") }
        }
    }

    /// Runs `row` with job id `job` on both sides.
    /// - Returns: what differs (nil when they agree), and how many of the row's jobs changed status afterwards
    ///   (so a run that compared only empty sequences shows).
    func compare(_ row: DifferentialRow, job: String) async throws -> (difference: String?, moved: Int) {
        func fill(_ text: String) -> String { text.replacingOccurrences(of: "@J", with: job) }
        let ids = row.jobs.map(fill)
        if let hold = row.hold {
            try await holdBare(hold, job)
            try await holdGate(hold, job)
        }
        let start = Date()
        let qmp = try await bare.execute(fill(row.qmp.command), try Self.json(fill(row.qmp.arguments)))
        let http = try await gate.http.send(fill(row.http.method), fill(row.http.path), body: row.http.body.map(fill))
        let qemuAnswer: String
        switch qmp {
        case .success: qemuAnswer = "accepted"
        case .failure(let error): qemuAnswer = "refused: \(error.errorClass) \(error.description)"
        }
        let gateAnswer: String
        if (200..<300).contains(http.status) {
            gateAnswer = "accepted"
        } else if let desc = http.json?["desc"]?.stringValue {
            gateAnswer = "refused: \(http.json?["class"]?.stringValue ?? "?") \(desc)"
        } else {
            gateAnswer = "refused without QEMU's words: \(http.status) \(http.text)"
        }
        var differences: [String] = []
        var moved = 0
        if qemuAnswer != gateAnswer { differences.append("QEMU \(qemuAnswer) | jobgate \(gateAnswer)") }
        if !row.answeredByJobgate {
            for id in ids {
                var sequences: ([String], [String]) = ([], [])
                let same = try await eventually(timeout: .seconds(5)) {
                    sequences = (
                        Scenario.withoutDrainPairs(bare.statuses(of: id, since: start)),
                        try await gateStatuses(of: id, since: start)
                    )
                    return sequences.0 == sequences.1
                }
                if !same { differences.append("\(id): QEMU \(sequences.0) | jobgate \(sequences.1)") }
                if !sequences.0.isEmpty { moved += 1 }
            }
        }
        for id in Set(ids + (row.hold == nil ? [] : [job])) {
            try await clearBare(id)
            try await clearGate(id)
        }
        return (differences.isEmpty ? nil : differences.joined(separator: "; "), moved)
    }

    static func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    // MARK: - Holding a job in a status

    /// The creation arguments (without id) of a job that can be held in `hold`.
    static func creation(_ hold: DifferentialRow.Hold) -> (type: String, command: String, arguments: String) {
        let base = DifferentialRow.backupArguments
        return switch hold {
        case .running, .paused: ("backup", "blockdev-backup", base + #","speed":1"#)
        case .ready, .standby: ("mirror", "blockdev-mirror", base)
        case .pending: ("backup", "blockdev-backup", base + #","auto-finalize":false"#)
        case .concluded, .gone: ("backup", "blockdev-backup", base + #","auto-dismiss":false"#)
        }
    }

    static func reached(_ hold: DifferentialRow.Hold) -> String {
        switch hold {
        case .running, .paused: "running"
        case .ready, .standby: "ready"
        case .pending: "pending"
        case .concluded, .gone: "concluded"
        }
    }

    func holdBare(_ hold: DifferentialRow.Hold, _ id: String) async throws {
        let creation = Self.creation(hold)
        let created = try await bare.execute(
            creation.command, try Self.json(#"{"job-id":"\#(id)",\#(creation.arguments)}"#))
        if case .failure(let error) = created { Issue.record("bare \(creation.command): \(error.description)") }
        try await waitBare(id, Self.reached(hold))
        switch hold {
        case .paused, .standby:
            _ = try await bare.execute("job-pause", .object(["id": .string(id)]))
            try await waitBare(id, hold == .paused ? "paused" : "standby")
        case .gone:
            _ = try await bare.execute("job-dismiss", .object(["id": .string(id)]))
            try await waitBare(id, nil)
        default:
            break
        }
    }

    func holdGate(_ hold: DifferentialRow.Hold, _ id: String) async throws {
        let creation = Self.creation(hold)
        try await gate.createJob(#"{"type":"\#(creation.type)","id":"\#(id)",\#(creation.arguments)}"#)
        try await gate.waitForJob(id, status: [Self.reached(hold)])
        switch hold {
        case .paused, .standby:
            _ = try await gate.http.post("/jobs/\(id)/pause")
            try await gate.waitForJob(id, status: [hold == .paused ? "paused" : "standby"])
        case .gone:
            _ = try await gate.http.post("/jobs/\(id)/dismiss")
            try await gate.waitForJob(id, status: ["null"])
        default:
            break
        }
    }

    /// Waits until the bare QEMU reports job `id` in `status` (nil: until it has no such job).
    func waitBare(_ id: String, _ status: String?) async throws {
        var last = "?"
        let reached = try await eventually(timeout: .seconds(20)) {
            last = try await bareStatus(id) ?? "gone"
            return last == (status ?? "gone")
        }
        try #require(reached, "bare QEMU: job \(id) never reached \(status ?? "gone"); last \(last)")
    }

    func bareStatus(_ id: String) async throws -> String? {
        guard case .success(let jobs) = try await bare.execute("query-jobs", nil) else { return nil }
        return jobs.arrayValue?.first { $0["id"]?.stringValue == id }?["status"]?.stringValue
    }

    func gateStatuses(of id: String, since time: Date) async throws -> [String] {
        let record = try await gate.http.get("/jobs/\(id)").json ?? .null
        let entries = (record["status-history"]?.arrayValue ?? []).compactMap { entry -> (String, Date)? in
            guard let status = entry["status"]?.stringValue, let at = entry["at"]?.stringValue.flatMap(Scenario.date),
                at >= time
            else { return nil }
            return (status, at)
        }
        return Scenario.withoutDrainPairs(entries)
    }

    // MARK: - Clearing a row's jobs

    func clearBare(_ id: String) async throws {
        for _ in 0..<100 {
            guard let status = try await bareStatus(id) else { return }
            _ = try await bare.execute(
                status == "concluded" ? "job-dismiss" : "job-cancel", .object(["id": .string(id)]))
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("bare QEMU: job \(id) could not be cleared")
    }

    func clearGate(_ id: String) async throws {
        for _ in 0..<100 {
            let status = try await gate.http.get("/jobs/\(id)?stats=false").json?["status"]?.stringValue
            guard let status, status != "null" else { return }
            _ = try await gate.http.post("/jobs/\(id)/\(status == "concluded" ? "dismiss" : "cancel")")
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("jobgate: job \(id) could not be cleared")
    }
}
