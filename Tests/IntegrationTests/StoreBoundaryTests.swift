import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// What jobgate stores, and who may read it: only ids every part of the store can hold are accepted, and the
    /// data directory is private to jobgate's user.
    @Suite struct StoreBoundaryTests {
        static func mode(_ path: String) -> Int {
            var status = stat()
            return stat(path, &status) == 0 ? Int(status.st_mode & 0o7777) : -1
        }

        /// Every file and directory under `path`, with its mode.
        static func modes(under path: String) -> [(path: String, mode: Int, isDirectory: Bool)] {
            let entries = FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []
            return entries.map { entry in
                var isDirectory: ObjCBool = false
                FileManager.default.fileExists(atPath: path + "/" + entry, isDirectory: &isDirectory)
                return (entry, mode(path + "/" + entry), isDirectory.boolValue)
            }
        }

        @Test("a 300-byte id is 400 and reaches neither QEMU nor the disk; a 128-byte id works through a restart")
        func idLengths() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            var gate = try await JobgateInstance.start(dataDirectory: directory, arguments: [])
            do {
                for name in ["s", "t"] {
                    let node = try await gate.http.post(
                        "/nodes", #"{"node-name":"\#(name)","driver":"null-co","size":67108864}"#)
                    try #require(node.status == 201, "\(node.text)")
                }
                let long = "L" + String(repeating: "x", count: 299)
                let refusals = [
                    ("/jobs", #"{"type":"backup","id":"\#(long)","device":"s","target":"t","sync":"full"}"#, "id"),
                    (
                        "/transactions",
                        #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"\#(long)","device":"s","target":"t","sync":"full"}}]}"#,
                        "actions[0].data.job-id"
                    ),
                    ("/nodes", #"{"node-name":"\#(long)","driver":"null-co"}"#, "node-name"),
                    ("/secrets", #"{"id":"\#(long)","data":"x"}"#, "id"),
                ]
                for (path, body, field) in refusals {
                    let answer = try await gate.http.post(path, body)
                    #expect(answer.status == 400, "POST \(path): \(answer.status) \(answer.text)")
                    #expect(answer.header("Content-Type") == "application/problem+json")
                    #expect(answer.json?["field"]?.stringValue == field, "\(answer.text)")
                    #expect((answer.json?["detail"]?.stringValue ?? "").contains("at most 128 bytes"), "\(answer.text)")
                    #expect(!answer.text.contains(long), "the refusal quotes the whole id")
                }
                // QEMU never saw it: no job, no node of that name; and nothing on disk names it.
                #expect(try await gate.http.get("/jobs/\(long)").status == 404)
                let nodes = try await gate.http.get("/nodes").text
                #expect(!nodes.contains(long))
                let longest = "M" + String(repeating: "y", count: 127)
                try await gate.createJob(
                    #"{"type":"backup","id":"\#(longest)","device":"s","target":"t","sync":"full","speed":1048576}"#)
                try await gate.waitForJob(longest, status: ["running"])
                try await Task.sleep(for: .milliseconds(1500))  // the checkpoint, about a second after the changes
                let stored = Self.modes(under: directory).filter {
                    !$0.isDirectory && ["records/", "events/", "idempotency/"].contains(where: $0.path.hasPrefix)
                }.compactMap { FileManager.default.contents(atPath: directory + "/" + $0.path) }
                #expect(stored.contains { String(decoding: $0, as: UTF8.self).contains(longest) })
                #expect(
                    !stored.contains { String(decoding: $0, as: UTF8.self).contains(long) }, "the id reached the disk")

                await gate.kill9()
                gate = try await JobgateInstance.start(dataDirectory: directory, arguments: [])
                let record = try await gate.job(longest)
                #expect(record["id"]?.stringValue == longest)
                #expect(record["request"]?["id"]?.stringValue == longest, "the request did not survive the restart")
                try await gate.verb(longest, "cancel")
                try await gate.waitForJob(longest, status: ["null"])
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }

        @Test("the data dir is created 0700 with files 0600; one that others can write is refused at start")
        func privateDataDirectory() async throws {
            let parent = try JobgateInstance.makeDataDirectory()
            defer { try? FileManager.default.removeItem(atPath: parent) }
            let directory = parent + "/new/data"
            let gate = try await JobgateInstance.start(
                dataDirectory: directory, arguments: ["--stop-engine-on-exit", "--image-root", parent + "/images"],
                logPath: parent + "/jobgate.out")
            do {
                for name in ["s", "t"] {
                    let node = try await gate.http.post(
                        "/nodes", #"{"node-name":"\#(name)","driver":"null-co","size":67108864}"#)
                    try #require(node.status == 201, "\(node.text)")
                }
                // A finished job (archive), a live one (its own record file), an idempotency key (the ledger).
                let created = try await gate.http.send(
                    "POST", "/jobs", body: #"{"type":"backup","id":"done","device":"s","target":"t","sync":"full"}"#,
                    headers: ["Idempotency-Key": "k1"])
                try #require(created.status == 201, "\(created.text)")
                try await gate.waitForJob("done", status: ["null"])
                try await gate.createJob(
                    #"{"type":"backup","id":"live","device":"s","target":"t","sync":"full","speed":65536}"#)
                try await gate.waitForJob("live", status: ["running"])
                try await Task.sleep(for: .milliseconds(1500))  // the checkpoint, about a second after the changes
                #expect(Self.mode(directory) == 0o700, "data dir mode \(String(Self.mode(directory), radix: 8))")
                let ours = Self.modes(under: directory).filter {
                    $0.path.hasPrefix("records") || $0.path.hasPrefix("events") || $0.path.hasPrefix("idempotency")
                        || $0.path == "epoch"
                }
                #expect(ours.contains { $0.path.hasPrefix("records/archive/") && !$0.isDirectory })
                #expect(ours.contains { $0.path.hasPrefix("records/live") })
                #expect(ours.contains { $0.path == "events/journal.jsonl" })
                #expect(ours.contains { $0.path.hasPrefix("idempotency/") && !$0.isDirectory })
                for entry in ours {
                    let expected = entry.isDirectory ? 0o700 : 0o600
                    #expect(entry.mode == expected, "\(entry.path) is \(String(entry.mode, radix: 8))")
                }
                try await gate.verb("live", "cancel")
                await gate.stop()

                // A data dir that others can write is refused, naming it and its mode.
                chmod(directory, 0o777)
                let refused = try ChildProcess(
                    JobgateInstance.binary, ["--listen", "127.0.0.1:0", "--data-dir", directory],
                    outputPath: parent + "/refused.out")
                let status = await refused.wait(timeout: .seconds(20))
                #expect(status != nil && status != 0, "jobgate started on a data dir others can write")
                #expect(refused.output.contains(directory) && refused.output.contains("777"), "\(refused.output)")
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }
    }
}
