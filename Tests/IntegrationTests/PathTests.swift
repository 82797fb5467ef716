import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// Paths are exact: an encoded NUL or `/` inside a segment is 400, never a shorter or split path.
    @Suite struct PathTests {
        static func get(_ gate: JobgateInstance, _ method: String, _ target: String) -> (status: Int, text: String) {
            let answer = HTTP.raw(
                port: gate.port, Array("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
            let status = Int(answer.split(separator: " ").dropFirst().first ?? "") ?? 0
            return (status, answer)
        }

        @Test("NUL and %2f in a path are 400 and change nothing; %25, and %2F or a comma in a query value, still work")
        func exactPaths() async throws {
            try await JobgateInstance.with { gate in
                for name in ["src", "t"] {
                    let node = try await gate.http.post(
                        "/nodes", #"{"node-name":"\#(name)","driver":"null-co","size":1048576}"#)
                    try #require(node.status == 201, "\(node.text)")
                }
                try await gate.createJob(#"{"type":"backup","id":"c0","device":"src","target":"t","sync":"full"}"#)
                try await gate.waitForJob("c0", status: ["null"])

                for target in ["/nodes/src%00junk", "/nodes/src%2Fjunk"] {
                    let answer = Self.get(gate, "DELETE", target)
                    #expect(answer.status == 400, "DELETE \(target): \(answer.text)")
                    #expect(answer.text.contains("urn:jobgate:problem:invalid-path"), "\(answer.text)")
                }
                let nodes = try await gate.http.get("/nodes").text
                #expect(nodes.contains(#""src""#), "a refused path detached a node: \(nodes)")

                for target in ["/jobs/c0%2fhistory", "/jobs/c0%2Fhistory", "/jobs/c0%00/history"] {
                    let answer = Self.get(gate, "GET", target)
                    #expect(answer.status == 400, "GET \(target): \(answer.text)")
                    #expect(answer.text.contains("application/problem+json"))
                }
                #expect(Self.get(gate, "GET", "/jobs/c0/history").status == 200)
                let percent = Self.get(gate, "GET", "/jobs/a%25b")
                #expect(percent.status == 404 && percent.text.contains("'a%b'"), "\(percent.text)")
                let nul = Self.get(gate, "GET", "/jobs?status=null%00x")
                #expect(nul.status == 400 && nul.text.contains("invalid-query"), "\(nul.text)")
                let listed = Self.get(gate, "GET", "/jobs?status=null%2Cconcluded&id=c0")
                #expect(listed.status == 200 && listed.text.contains(#""id":"c0""#), "\(listed.text)")
                let slash = Self.get(gate, "GET", "/jobs?id=c0%2Fx")
                #expect(slash.status == 200 && !slash.text.contains(#""id":"c0""#), "\(slash.text)")
            }
        }
    }
}
