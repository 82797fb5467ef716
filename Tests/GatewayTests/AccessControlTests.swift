import Foundation
import Gateway
import Testing

/// The checks before routing, one request at a time (the integration tests drive them over HTTP).
@Suite struct AccessControlTests {
    let tokens = "/tmp/access-\(UUID().uuidString.prefix(8))"

    func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: String = "",
        query: [String: String] = [:]
    ) -> Request {
        Request(method: method, path: path, query: query, headers: headers, body: Data(body.utf8))
    }

    func refusal(_ decision: AccessControl.Decision) -> Int? {
        if case .refuse(let problem) = decision { return problem.status }
        return nil
    }

    @Test("Host, media type and Origin, without tokens")
    func browserChecks() {
        let access = AccessControl(listenHost: "127.0.0.1", allowedHosts: ["jobs.example"], corsOrigins: ["http://ui"])
        #expect(refusal(access.check(request("GET", "/jobs", headers: ["host": "127.0.0.1:8080"]))) == nil)
        #expect(refusal(access.check(request("GET", "/jobs", headers: ["host": "[::1]:8080"]))) == nil)
        #expect(refusal(access.check(request("GET", "/jobs", headers: ["host": "JOBS.example:443"]))) == nil)
        #expect(refusal(access.check(request("GET", "/jobs", headers: ["host": "rebind.evil.example"]))) == 421)
        #expect(refusal(access.check(request("GET", "/healthz", headers: ["host": "10.1.2.3:8080"]))) == nil)
        #expect(
            refusal(access.check(request("POST", "/nodes", headers: ["content-type": "text/plain"], body: "{}"))) == 415
        )
        #expect(
            refusal(
                access.check(
                    request("POST", "/nodes", headers: ["content-type": "application/json; charset=utf-8"], body: "{}"))
            )
                == nil)
        #expect(refusal(access.check(request("POST", "/jobs/b0/pause", headers: ["origin": "http://evil"]))) == 403)
        #expect(refusal(access.check(request("POST", "/jobs/b0/pause", headers: ["origin": "http://ui"]))) == nil)
        #expect(
            refusal(
                access.check(
                    request(
                        "POST", "/jobs/b0/pause",
                        headers: ["origin": "http://127.0.0.1:8080", "host": "127.0.0.1:8080"])
                )) == nil)
        #expect(refusal(access.check(request("GET", "/jobs", headers: ["origin": "http://evil"]))) == nil)
    }

    @Test("tokens: roles, tickets, and a file that is malformed or too open")
    func tokensAndTickets() throws {
        try "# comment\nread-token-0123456789 read dash\n\noperate-token-0123456789 operate ci  # trailing\n".write(
            toFile: tokens, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokens) }
        chmod(tokens, 0o644)
        #expect(throws: TokenFile.LoadError.self) { try TokenFile.load(path: tokens) }
        chmod(tokens, 0o600)
        let access = AccessControl(authenticator: try Authenticator(path: tokens, logger: .init(label: "test")))
        let read = ["authorization": "Bearer read-token-0123456789"]
        let operate = ["authorization": "bearer operate-token-0123456789"]
        #expect(refusal(access.check(request("GET", "/jobs"))) == 401)
        #expect(
            refusal(access.check(request("GET", "/jobs", headers: ["authorization": "Bearer read-token-012345678"])))
                == 401)
        #expect(refusal(access.check(request("GET", "/jobs", headers: read))) == nil)
        #expect(refusal(access.check(request("DELETE", "/nodes/x", headers: read))) == 403)
        #expect(refusal(access.check(request("POST", "/events/tickets", headers: read))) == nil)
        #expect(refusal(access.check(request("DELETE", "/nodes/x", headers: operate))) == nil)
        let ticket = access.tickets.issue(for: Principal(name: "dash", role: .read))
        guard case .proceed(let admitted) = access.check(request("GET", "/events", query: ["ticket": ticket])) else {
            Issue.record("a fresh ticket was refused")
            return
        }
        #expect(admitted.principal?.name == "dash" && admitted.query["ticket"] == nil)
        #expect(refusal(access.check(request("GET", "/events", query: ["ticket": ticket]))) == 401)
        let other = access.tickets.issue(for: Principal(name: "dash", role: .read))
        #expect(refusal(access.check(request("GET", "/jobs", query: ["ticket": other]))) == 401)

        for bad in ["short read x", "read-token-0123456789 admin x", "read-token-0123456789 read", "a b c d"] {
            #expect(throws: TokenFile.LoadError.self) {
                try bad.write(toFile: tokens, atomically: true, encoding: .utf8)
                chmod(tokens, 0o600)
                _ = try TokenFile.load(path: tokens)
            }
        }
    }
}
