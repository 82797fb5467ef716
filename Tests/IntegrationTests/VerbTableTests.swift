import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// Every verb in every reachable status, on real jobs: what QEMU's verb table allows passes jobgate's gate
    /// (and then QEMU's own checks), what it forbids is refused with 409 and QEMU's sentence.
    @Suite struct VerbTableTests {
        /// The statuses a REST client can catch a job in (`created` only exists inside the creating command).
        static let statuses: [JobStatus] = [.running, .paused, .ready, .standby, .waiting, .pending, .concluded]

        /// What QEMU 7.2 answers to a verb its table allows, beyond the table: 202, or its own refusal.
        static func expectedAnswer(_ verb: JobVerb, in status: JobStatus) -> (Int, String?) {
            switch (verb, status) {
            case (.change, _): (501, nil)
            case (.pause, .paused), (.pause, .standby): (409, "Job is already paused")
            case (.resume, .running), (.resume, .ready): (409, "Can't resume a job that was not paused")
            default: (202, nil)
            }
        }

        /// Two 64 MiB null-co nodes for job `id`.
        func nodes(_ gate: JobgateInstance, _ id: String) async throws {
            for suffix in ["s", "t"] {
                let node = try await gate.http.post(
                    "/nodes", #"{"node-name":"\#(id)-\#(suffix)","driver":"null-co","size":67108864}"#)
                try #require(node.status == 201, "\(node.text)")
            }
        }

        /// A job called `id` in `status`, with auto-finalize and auto-dismiss off.
        func makeJob(_ gate: JobgateInstance, _ id: String, in status: JobStatus) async throws {
            try await nodes(gate, id)
            let manual = #""auto-finalize":false,"auto-dismiss":false"#
            if status == .waiting {
                // A grouped pair: the fast member waits for the throttled one.
                try await nodes(gate, id + "-slow")
                let answer = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"\#(id)","device":"\#(id)-s","target":"\#(id)-t","sync":"full",\#(manual)}},{"type":"blockdev-backup","data":{"job-id":"\#(id)-slow","device":"\#(id)-slow-s","target":"\#(id)-slow-t","sync":"full","speed":1024,\#(manual)}}],"properties":{"completion-mode":"grouped"}}"#
                )
                try #require(answer.status == 201, "\(answer.text)")
                try await gate.waitForJob(id, status: ["waiting"])
                return
            }
            try await gate.createJob(
                #"{"type":"mirror","id":"\#(id)","device":"\#(id)-s","target":"\#(id)-t","sync":"full","speed":1024,\#(manual)}"#
            )
            try await gate.waitForJob(id, status: ["running"])
            switch status {
            case .running:
                return
            case .paused:
                try await gate.verb(id, "pause")
            case .ready, .standby, .pending, .concluded:
                try await gate.verb(id, "set-speed", #"{"speed":0}"#)
                try await gate.waitForJob(id, status: ["ready"])
                if status == .standby { try await gate.verb(id, "pause") }
                if status == .pending || status == .concluded { try await gate.verb(id, "complete") }
                if status == .concluded {
                    try await gate.waitForJob(id, status: ["pending"])
                    try await gate.verb(id, "finalize")
                }
            default:
                Issue.record("no recipe for \(status)")
            }
            try await gate.waitForJob(id, status: [status.rawValue])
        }

        func body(for verb: JobVerb) -> String? {
            switch verb {
            case .setSpeed: #"{"speed":2048}"#
            case .change: #"{"copy-mode":"write-blocking"}"#
            default: nil
            }
        }

        @Test("each verb in each status: allowed ones pass the gate, forbidden ones are 409 with QEMU's text")
        func everyVerbInEveryStatus() async throws {
            try await JobgateInstance.with { gate in
                var counter = 0
                for status in Self.statuses {
                    counter += 1
                    let probe = "p\(counter)"
                    try await makeJob(gate, probe, in: status)
                    for verb in JobVerb.allCases where !verb.isAllowed(in: status) {
                        if verb == .resume {
                            // QEMU checks "not paused" before its verb table (job.c `job_user_resume_locked`): its words win.
                            try await Scenario.expectEngineRefused(
                                gate, probe, "resume", "Can't resume a job that was not paused")
                            continue
                        }
                        if verb == .change {
                            // QEMU 7.2 has no block-job-change: it refuses the command before any job lookup.
                            let refused = try await gate.http.post("/jobs/\(probe)/change", body(for: verb))
                            #expect(refused.status == 501, "\(refused.text)")
                            #expect(refused.json?["desc"] == "The command block-job-change has not been found")
                            continue
                        }
                        try await Scenario.expectVerbRefused(
                            gate, probe, verb.rawValue, in: status.rawValue, body: body(for: verb))
                        let problem = try await gate.http.post("/jobs/\(probe)/\(verb.rawValue)", body(for: verb)).json
                        #expect(problem?["job-status"] == .string(status.rawValue))
                        #expect(
                            problem?["allowed-verbs"]
                                == .array(JobVerb.allowed(in: status).map { .string($0.rawValue) }))
                    }
                    #expect(
                        try await gate.job(probe)["status"] == .string(status.rawValue),
                        "a refused verb changed the job")

                    for verb in JobVerb.allCases where verb.isAllowed(in: status) {
                        counter += 1
                        let id = "j\(counter)"
                        try await makeJob(gate, id, in: status)
                        let answer = try await gate.http.post("/jobs/\(id)/\(verb.rawValue)", body(for: verb))
                        let (expected, qemuText) = Self.expectedAnswer(verb, in: status)
                        #expect(answer.status == expected, "\(verb.rawValue) in \(status.rawValue): \(answer.text)")
                        #expect(answer.json?["type"] != "urn:jobgate:problem:verb-not-allowed")
                        if let qemuText { #expect(answer.json?["desc"] == .string(qemuText)) }
                        if verb == .change {
                            #expect(answer.json?["detail"]?.stringValue?.contains("QEMU 7.2") == true)
                        }
                    }
                }
            }
        }
    }
}
