import Foundation
import JSON
import JobModel
import TestSupport
import Testing

extension Integration {
    /// Secrets for encrypted images, and amend of a LUKS key slot.
    @Suite struct SecretTests {
        @Test("amend adds a LUKS key slot to an encrypted qcow2; the secrets never leave QEMU")
        func amendKeySlot() async throws {
            let first = "pw-\(UUID().uuidString)"
            let second = "pw-\(UUID().uuidString)"
            try await JobgateInstance.with { gate in
                let image = gate.imageRoot + "/enc.qcow2"
                try await QemuTools.img(
                    "create", "-f", "qcow2", "--object", "secret,id=s0,data=\(first)",
                    "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", image, "16M")

                var answers: [String] = []
                for (id, data) in [("s0", first), ("s1", second)] {
                    let added = try await gate.http.post("/secrets", #"{"id":"\#(id)","data":"\#(data)"}"#)
                    #expect(added.status == 201, "\(added.text)")
                    #expect(added.json == ["id": .string(id)])
                    answers.append(added.text)
                }
                let badSecret = try await gate.http.post("/secrets", #"{"id":"s9","file":"/etc/shadow"}"#)
                #expect(badSecret.status == 400)
                answers.append(badSecret.text)

                let node = try await gate.http.post(
                    "/nodes",
                    #"{"node-name":"enc","driver":"qcow2","encrypt":{"format":"luks","key-secret":"s0"},"file":{"driver":"file","filename":"enc.qcow2"}}"#
                )
                try #require(node.status == 201, "\(node.text)")
                answers.append(node.text)

                let created = try await gate.createJob(
                    #"{"type":"amend","id":"a0","node-name":"enc","options":{"driver":"qcow2","encrypt":{"format":"luks","state":"active","new-secret":"s1","iter-time":10}}}"#
                )
                answers.append(created.serializedText)
                let done = try await gate.waitForJob("a0", status: ["concluded"])
                #expect(done["error"] == nil, "\(done)")
                answers.append(done.serializedText)
                try await gate.verb("a0", "dismiss")
                answers.append(try await gate.http.get("/jobs").text)
                answers.append(try await gate.http.get("/nodes").text)
                try await gate.deleteNode("enc")
                #expect(try await gate.http.send("DELETE", "/secrets/s0").status == 204)

                let info = try JSONValue.parse(Data(try await QemuTools.img("info", "--output=json", image).utf8))
                let slots = info["format-specific"]?["data"]?["encrypt"]?["slots"]?.arrayValue ?? []
                #expect(slots.filter { $0["active"] == true }.count == 2, "key slots: \(slots)")

                // The secrets appear in no answer, no log line, no file under the data dir.
                for answer in answers {
                    #expect(
                        !answer.contains(first) && !answer.contains(second), "a response leaked a secret: \(answer)")
                }
                let log = gate.process.output
                #expect(!log.isEmpty)
                #expect(!log.contains(first) && !log.contains(second), "the log leaked a secret")
                let files =
                    FileManager.default.enumerator(atPath: gate.dataDirectory)?.compactMap { $0 as? String } ?? []
                for file in files where !file.hasSuffix(".qcow2") {
                    let contents = FileManager.default.contents(atPath: gate.dataDirectory + "/" + file) ?? Data()
                    let text = String(decoding: contents, as: UTF8.self)
                    #expect(!text.contains(first) && !text.contains(second), "\(file) holds a secret")
                }
            }
        }
    }
}

extension JSONValue {
    /// The value as JSON text.
    var serializedText: String { String(decoding: serialized(), as: UTF8.self) }
}
