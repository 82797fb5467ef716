import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// Request bodies buffered across all connections stay within `--body-budget`: clients that send large bodies
    /// slowly cannot make jobgate hold `--max-connections` x `--body-limit` bytes.
    @Suite struct BodyBudgetTests {
        static func post(_ length: Int, sending count: Int) -> [UInt8] {
            Array(
                "POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n\r\n"
                    .utf8)
                + [UInt8](repeating: UInt8(ascii: " "), count: count)
        }

        @Test("a body that would pass the budget gets 503 server-busy; small ones go on; the budget comes back")
        func budget() async throws {
            try await JobgateInstance.with(
                arguments: ["--stop-engine-on-exit", "--body-limit", "1000000", "--body-budget", "2000000"]
            ) { gate in
                // Two clients send 900 KB of a 1 MB body each, then stall for 4 s.
                let stalled = (0..<2).map { _ in
                    let thread = Thread {
                        _ = HTTP.raw(port: gate.port, Self.post(1_000_000, sending: 900_000), timeout: 4)
                    }
                    thread.start()
                    return thread
                }
                _ = stalled
                try await Task.sleep(for: .milliseconds(1000))
                let refused = HTTP.raw(port: gate.port, Self.post(900_000, sending: 900_000))
                #expect(refused.hasPrefix("HTTP/1.1 503"), "\(refused.prefix(300))")
                #expect(refused.contains("urn:jobgate:problem:server-busy"), "\(refused.prefix(400))")
                #expect(refused.contains("application/problem+json"))
                let small = try await gate.http.post("/jobs", "{}")
                #expect(small.status == 400, "a small body was refused too: \(small.status) \(small.text)")
                // Once the stalled clients are gone, a large body is read again.
                let served = await eventually(timeout: .seconds(15), interval: .milliseconds(250)) {
                    HTTP.raw(port: gate.port, Self.post(900_000, sending: 900_000)).hasPrefix("HTTP/1.1 400")
                }
                #expect(served, "the budget did not come back after the stalled clients left")
            }
        }
    }
}
