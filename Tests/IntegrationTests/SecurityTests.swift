import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// Tokens and roles, and the checks that keep a web page on another origin from driving jobgate.
    @Suite struct SecurityTests {
        static let readToken = "read-token-0123456789abcdef"
        static let operateToken = "operate-token-0123456789abcdef"

        /// A token file in a fresh data directory, mode `mode`.
        static func tokenFile(in directory: String, _ lines: [String], mode: mode_t = 0o600) throws -> String {
            let path = directory + "/tokens"
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, mode)
            return path
        }

        static func bearer(_ token: String) -> [String: String] { ["Authorization": "Bearer \(token)"] }

        @Test("each role against a read route, an event stream and a change: 401 / 403 / success; names in the log")
        func roles() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let tokens = try Self.tokenFile(
                in: directory,
                ["# who may do what", "\(Self.readToken) read dashboard", "\(Self.operateToken) operate ci"])
            try await JobgateInstance.with(
                dataDirectory: directory, arguments: ["--stop-engine-on-exit", "--token-file", tokens]
            ) { gate in
                let http = gate.http
                // No token, an unknown one: 401 with the challenge; probes stay open.
                for headers in [[:], Self.bearer("garbage-garbage-garbage")] {
                    let answer = try await http.send("GET", "/jobs", headers: headers)
                    #expect(answer.status == 401, "\(answer.text)")
                    #expect(answer.header("WWW-Authenticate") == #"Bearer realm="jobgate""#)
                    #expect(answer.json?["type"] == "urn:jobgate:problem:unauthorized")
                    let stream = try await http.send("GET", "/events", headers: headers)
                    #expect(stream.status == 401)
                    let change = try await http.send(
                        "POST", "/nodes", body: #"{"node-name":"x","driver":"null-co"}"#, headers: headers)
                    #expect(change.status == 401)
                }
                #expect(try await http.get("/healthz").status == 200)
                #expect(try await http.get("/readyz").status == 200)

                // read: reads and streams, no changes.
                #expect(try await http.send("GET", "/jobs", headers: Self.bearer(Self.readToken)).status == 200)
                let readStream = try SSEClient(port: gate.port, path: "/events", headers: Self.bearer(Self.readToken))
                defer { readStream.close() }
                let refused = try await http.send(
                    "POST", "/nodes", body: #"{"node-name":"x","driver":"null-co"}"#,
                    headers: Self.bearer(Self.readToken))
                #expect(refused.status == 403, "\(refused.text)")
                #expect(refused.json?["type"] == "urn:jobgate:problem:insufficient-role")
                #expect(refused.json?["token-name"] == "dashboard")

                // operate: everything; the record says who created the job and who applied a verb.
                for name in ["s", "t"] {
                    let node = try await http.send(
                        "POST", "/nodes", body: #"{"node-name":"\#(name)","driver":"null-co","size":67108864}"#,
                        headers: Self.bearer(Self.operateToken))
                    try #require(node.status == 201, "\(node.text)")
                }
                let created = try await http.send(
                    "POST", "/jobs",
                    body: #"{"type":"backup","id":"b0","device":"s","target":"t","sync":"full","speed":1024}"#,
                    headers: Self.bearer(Self.operateToken))
                #expect(created.status == 201, "\(created.text)")
                #expect(created.json?["created-by"] == "ci")
                let paused = try await http.send("POST", "/jobs/b0/pause", headers: Self.bearer(Self.operateToken))
                #expect(paused.status == 202, "\(paused.text)")
                let seen = await readStream.wait(timeout: .seconds(10)) { events in
                    events.contains { $0.name == "JOB_STATUS_CHANGE" && $0.data.contains(#""paused""#) }
                }
                #expect(seen, "the read token's stream did not see the job pause")
                let record = try await http.send("GET", "/jobs/b0", headers: Self.bearer(Self.readToken)).json
                let verbs = record?["verb-history"]?.arrayValue ?? []
                #expect(verbs.first?["by"] == "ci" && verbs.first?["verb"] == "pause", "\(record ?? .null)")

                // Tickets: single use, for streams only, never logged.
                let ticketAnswer = try await http.send(
                    "POST", "/events/tickets", headers: Self.bearer(Self.readToken))
                #expect(ticketAnswer.status == 201, "\(ticketAnswer.text)")
                let ticket = try #require(ticketAnswer.json?["ticket"]?.stringValue)
                #expect(try await http.get("/jobs?ticket=\(ticket)").status == 401)
                let ticketed = try SSEClient(port: gate.port, path: "/events?ticket=\(ticket)")
                defer { ticketed.close() }
                let opened = await ticketed.wait(timeout: .seconds(5)) { _ in ticketed.status == 200 }
                #expect(opened, "a fresh ticket did not open the stream: \(String(describing: ticketed.status))")
                #expect(try await http.get("/events?ticket=\(ticket)").status == 401, "a ticket was used twice")

                try await Task.sleep(for: .milliseconds(200))
                let log = gate.process.output
                #expect(log.contains("token=ci") && log.contains("token=dashboard"), "token names missing from the log")
                for secret in [Self.readToken, Self.operateToken, ticket] {
                    #expect(!log.contains(secret), "a token or ticket reached the log")
                }
            }
        }

        @Test("SIGHUP adds and removes tokens while an open stream stays open")
        func reload() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let tokens = try Self.tokenFile(in: directory, ["\(Self.readToken) read dashboard"])
            try await JobgateInstance.with(
                dataDirectory: directory, arguments: ["--stop-engine-on-exit", "--token-file", tokens]
            ) { gate in
                let stream = try SSEClient(port: gate.port, path: "/events", headers: Self.bearer(Self.readToken))
                defer { stream.close() }
                #expect(await stream.wait(timeout: .seconds(5)) { _ in stream.status == 200 })
                #expect(try await gate.http.send("GET", "/jobs", headers: Self.bearer(Self.operateToken)).status == 401)
                _ = try Self.tokenFile(in: directory, ["\(Self.operateToken) operate ci"])
                gate.process.signal(SIGHUP)
                let swapped = try await eventually(timeout: .seconds(5)) {
                    try await gate.http.send("GET", "/jobs", headers: Self.bearer(Self.operateToken)).status == 200
                }
                #expect(swapped, "the added token was not accepted after SIGHUP")
                #expect(try await gate.http.send("GET", "/jobs", headers: Self.bearer(Self.readToken)).status == 401)
                // The stream opened with the removed token goes on: it still gets events.
                let node = try await gate.http.send(
                    "POST", "/nodes", body: #"{"node-name":"s","driver":"null-co","size":1048576}"#,
                    headers: Self.bearer(Self.operateToken))
                #expect(node.status == 201)
                try await Task.sleep(for: .milliseconds(300))
                #expect(!stream.ended, "SIGHUP closed an open event stream")
            }
        }

        @Test("refusals at start: a token file others can read; a non-loopback listen without tokens")
        func startRefusals() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let open = try Self.tokenFile(in: directory, ["\(Self.readToken) read dashboard"], mode: 0o644)
            let binary = JobgateInstance.binary
            let (status, output) = try await ChildProcess.run(
                binary, ["--listen", "127.0.0.1:0", "--data-dir", directory, "--token-file", open])
            #expect(status != 0)
            #expect(output.contains(open) && output.contains("644"), "\(output)")
            let (wide, wideOutput) = try await ChildProcess.run(
                binary, ["--listen", "0.0.0.0:0", "--data-dir", directory])
            #expect(wide != 0)
            #expect(wideOutput.contains("--token-file") && wideOutput.contains("--insecure-no-auth"), "\(wideOutput)")
        }

        @Test("the cross-site reproduction: text/plain is 415, a foreign Origin 403, a rebinding Host 421")
        func crossSite() async throws {
            try await JobgateInstance.with(
                arguments: ["--stop-engine-on-exit", "--cors-origin", "http://127.0.0.2:9000"]
            ) { gate in
                let http = gate.http
                let body = #"{"node-name":"x","driver":"null-co"}"#
                for type in ["text/plain", "application/x-www-form-urlencoded", "image/png"] {
                    let answer = try await http.send("POST", "/nodes", body: body, headers: ["Content-Type": type])
                    #expect(answer.status == 415, "\(type): \(answer.status) \(answer.text)")
                    #expect(answer.json?["type"] == "urn:jobgate:problem:unsupported-media-type")
                }
                let foreign = try await http.send(
                    "POST", "/nodes", body: body, headers: ["Origin": "http://evil.example"])
                #expect(foreign.status == 403, "\(foreign.text)")
                #expect(foreign.json?["type"] == "urn:jobgate:problem:origin-not-allowed")
                let bodyless = try await http.send("DELETE", "/nodes/x", headers: ["Origin": "http://evil.example"])
                #expect(bodyless.status == 403)
                let rebound = try await http.send("GET", "/jobs", headers: ["Host": "rebind.evil.example"])
                #expect(rebound.status == 421, "\(rebound.text)")
                #expect(rebound.json?["type"] == "urn:jobgate:problem:misdirected-request")
                let nodes = try await http.get("/nodes").json?["nodes"]?.arrayValue ?? []
                #expect(nodes.isEmpty, "a refused request created a node: \(nodes)")
                // The allowed origin: its change goes through, and its answers carry the CORS headers.
                let allowed = try await http.send(
                    "POST", "/nodes", body: body, headers: ["Origin": "http://127.0.0.2:9000"])
                #expect(allowed.status == 201, "\(allowed.text)")
                #expect(allowed.header("Access-Control-Allow-Origin") == "http://127.0.0.2:9000")
                #expect(allowed.header("Access-Control-Expose-Headers")?.contains("Location") == true)
                let preflight = try await http.send(
                    "OPTIONS", "/jobs/b0/history",
                    headers: ["Origin": "http://127.0.0.2:9000", "Access-Control-Request-Method": "GET"])
                #expect(preflight.status == 204)
                #expect(preflight.header("Allow") == "GET, OPTIONS")
                #expect(preflight.header("Access-Control-Allow-Headers")?.contains("Last-Event-ID") == true)
                let verbs = try await http.send("OPTIONS", "/jobs/b0/pause")
                #expect(verbs.header("Allow") == "POST, OPTIONS")
            }
        }
    }
}
