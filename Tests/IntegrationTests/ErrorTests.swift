import Foundation
import JSON
import JobModel
import TestSupport
import Testing

extension Integration {
    /// Bad requests over HTTP get RFC 9457 problems with the right status, and QEMU's own words where QEMU spoke.
    @Suite struct ErrorTests {
        @Test("refusals: verb table, unknown job/verb, bad bodies, size cap, confinement, drivers, change on 7.2")
        func refusals() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "16M")
                let created = try await gate.http.post(
                    "/jobs", #"{"type":"backup","id":"slow","device":"src","target":"dst","sync":"full","speed":65536}"#
                )
                try #require(created.status == 201, "\(created.text)")
                try await gate.waitForJob("slow", status: ["running"])

                // A verb the table forbids: 409, QEMU's wording, the job's status and what is allowed.
                let dismiss = try await gate.http.post("/jobs/slow/dismiss")
                #expect(dismiss.status == 409)
                #expect(dismiss.header("Content-Type") == "application/problem+json")
                let problem = try #require(dismiss.json)
                #expect(problem["detail"] == "Job 'slow' in state 'running' cannot accept command verb 'dismiss'")
                #expect(problem["job-status"] == "running")
                #expect(problem["verb"] == "dismiss")
                #expect(problem["status"] == 409)
                #expect(problem["allowed-verbs"] == ["cancel", "pause", "resume", "set-speed", "change"])

                // QEMU's own refusal keeps its class and text.
                let resume = try await gate.http.post("/jobs/slow/resume")
                #expect(resume.status == 409)
                #expect(resume.json?["class"] == "GenericError")
                #expect(resume.json?["desc"] == "Can't resume a job that was not paused")

                // change on QEMU 7.2: a clear problem naming the version.
                let change = try await gate.http.post("/jobs/slow/change", #"{"copy-mode":"write-blocking"}"#)
                #expect(change.status == 501)
                let changeDetail = change.json?["detail"]?.stringValue ?? ""
                #expect(changeDetail.contains("QEMU 7.2"), "\(changeDetail)")
                #expect(changeDetail.contains("8.2"), "\(changeDetail)")

                // Unknown job, unknown verb, wrong method.
                #expect(try await gate.http.get("/jobs/nope").status == 404)
                #expect(try await gate.http.post("/jobs/nope/pause").status == 404)
                let unknownVerb = try await gate.http.post("/jobs/slow/frobnicate")
                #expect(unknownVerb.status == 404)
                #expect(unknownVerb.json?["type"] == "urn:jobgate:problem:not-found")
                let wrongMethod = try await gate.http.send("DELETE", "/jobs")
                #expect(wrongMethod.status == 405)
                #expect(wrongMethod.header("Allow") == "GET, POST")

                // Malformed JSON, a body that is not an object, a missing field, an unknown field.
                let malformed = try await gate.http.post("/jobs", #"{"type": "backup", "id": "#)
                #expect(malformed.status == 400)
                #expect(malformed.json?["type"] == "urn:jobgate:problem:invalid-body")
                #expect(try await gate.http.post("/jobs", "[1,2]").status == 400)
                let missing = try await gate.http.post(
                    "/jobs", #"{"type":"backup","id":"x1","device":"src","target":"dst"}"#)
                #expect(missing.status == 400)
                #expect(missing.json?["field"] == "sync")
                let unknownField = try await gate.http.post(
                    "/jobs", #"{"type":"backup","id":"x1","device":"src","target":"dst","sync":"full","bogus":1}"#)
                #expect(unknownField.status == 400)
                #expect(unknownField.json?["field"] == "bogus")
                let badID = try await gate.http.post(
                    "/jobs", #"{"type":"backup","id":"1bad","device":"src","target":"dst","sync":"full"}"#)
                #expect(badID.status == 400)
                #expect(badID.json?["detail"] == "Invalid job ID '1bad'")

                // Bodies over the 1 MiB cap: refused from Content-Length before any byte is read, and when chunked.
                let announced = HTTP.raw(
                    port: gate.port,
                    Array(
                        "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
                            .utf8))
                #expect(announced.hasPrefix("HTTP/1.1 413"), "\(announced)")
                #expect(announced.contains("application/problem+json"))
                let big = [UInt8](repeating: UInt8(ascii: " "), count: 1_200_000)
                var chunked = Array(
                    "POST /nodes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".utf8)
                chunked +=
                    Array(String(big.count, radix: 16).utf8) + [13, 10] + big + [13, 10] + Array("0\r\n\r\n".utf8)
                // Chunked, the cap is found only as the body arrives, when libmicrohttpd takes no response: the
                // connection is closed at once (RequestLimitTests measures how early).
                let streamed = HTTP.raw(port: gate.port, chunked)
                #expect(streamed.isEmpty, "\(streamed.prefix(300))")

                // File names outside the image root: absolute, relative with .., a symlink escaping it, json:.
                let outside = NSTemporaryDirectory() + "jg-outside-\(UUID().uuidString.prefix(6)).qcow2"
                try await QemuTools.makeImage(outside, size: "1M")
                defer { try? FileManager.default.removeItem(atPath: outside) }
                try FileManager.default.createSymbolicLink(
                    atPath: gate.imageRoot + "/escape.qcow2", withDestinationPath: outside)
                for filename in [
                    outside, "../\(URL(fileURLWithPath: outside).lastPathComponent)", "escape.qcow2",
                    "json:{\"driver\":\"file\",\"filename\":\"/etc/passwd\"}",
                ] {
                    let body: JSONValue = [
                        "node-name": "evil", "driver": "qcow2",
                        "file": ["driver": "file", "filename": .string(filename)],
                    ]
                    let answer = try await gate.http.post("/nodes", String(decoding: body.serialized(), as: UTF8.self))
                    #expect(answer.status == 403, "\(filename): \(answer.text)")
                    #expect(answer.json?["type"] == "urn:jobgate:problem:path-outside-image-roots")
                    #expect(answer.json?["field"] == "file.filename")
                }

                // A driver outside the allow-list.
                let driver = try await gate.http.post(
                    "/nodes", #"{"node-name":"n","driver":"vvfat","dir":"/etc"}"#)
                #expect(driver.status == 403)
                #expect(driver.json?["driver"] == "vvfat")
                let nested = try await gate.http.post(
                    "/nodes",
                    #"{"node-name":"n","driver":"raw","file":{"driver":"nbd","server":{"type":"inet","host":"127.0.0.1","port":"1"}}}"#
                )
                #expect(nested.status == 403)
                #expect(nested.json?["field"] == "file.driver")

                // None of this left a node behind, and the job still runs.
                let nodes = try await gate.http.get("/nodes").json?["nodes"]?.arrayValue ?? []
                let names = Set(nodes.compactMap { $0["node-name"]?.stringValue })
                #expect(names.isSuperset(of: ["src", "dst"]), "\(names)")
                #expect(!names.contains("evil") && !names.contains("n"))
                #expect(try await gate.job("slow")["status"] == "running")
                try await gate.verb("slow", "cancel")
                try await gate.waitForJob("slow", status: ["null"])
            }
        }

        @Test(
            "a command QEMU's JSON parser refuses (a Unicode noncharacter in a string) is QEMU's refusal at once, not a timeout"
        )
        func unreadableCommand() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "1M")
                let started = ContinuousClock.now
                let refused = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"block-dirty-bitmap-remove","data":{"node":"u\ufdd0","name":"b"}}]}"#)
                #expect(refused.status == 422, "\(refused.text)")
                #expect(
                    refused.json?["desc"] == "JSON parse error, invalid UTF-8 sequence in string", "\(refused.text)")
                #expect(ContinuousClock.now - started < .seconds(5), "the refusal waited for the QMP timeout")
                #expect(try await gate.http.get("/readyz").status == 200)
            }
        }
    }
}
