import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// Slow and numerous clients cannot freeze jobgate: a request deadline drops slowloris connections, and past
    /// the connection limits a new client is refused at once rather than left waiting.
    @Suite struct ConnectionLimitTests {
        /// Whether the server closed `descriptor` (end of stream or reset), waiting at most `timeout` for it.
        static func isClosed(_ descriptor: Int32, within timeout: Double) -> Bool {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return false }
            var byte: UInt8 = 0
            return recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
        }

        static func raiseFileLimit() {
            var limit = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            limit.rlim_cur = limit.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }

        @Test(
            "1,000 slowloris connections from 127.0.0.2: probes from 127.0.0.1 answer within 1 s; all dropped by the deadline"
        )
        func slowloris() async throws {
            Self.raiseFileLimit()
            try await JobgateInstance.with(arguments: ["--stop-engine-on-exit", "--request-deadline", "3"]) { gate in
                var slow: [Int32] = []
                defer { for descriptor in slow { close(descriptor) } }
                for _ in 0..<1000 {
                    guard let descriptor = TCP.connect(to: gate.port, from: "127.0.0.2") else { break }
                    _ = send(descriptor, "GET /healthz HTTP/1.1\r\nX-Slow: ", 31, Int32(MSG_NOSIGNAL))
                    slow.append(descriptor)
                }
                try #require(slow.count == 1000, "only \(slow.count) slow connections opened")
                let start = ContinuousClock.now
                var slowest = Duration.zero
                while ContinuousClock.now - start < .seconds(6) {
                    for descriptor in slow { _ = send(descriptor, "a", 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                    let probe = ContinuousClock.now
                    let answer = try await gate.http.get("/healthz")
                    slowest = max(slowest, ContinuousClock.now - probe)
                    #expect(answer.status == 200)
                    try await Task.sleep(for: .milliseconds(500))
                }
                #expect(slowest < .seconds(1), "a probe took \(slowest) with 1,000 slow connections open")
                let open = slow.filter { !Self.isClosed($0, within: 0.5) }
                #expect(open.isEmpty, "\(open.count) slow connections outlived the 3 s deadline by 3 s")
                print("slowloris: 1,000 slow connections, slowest probe \(slowest), \(open.count) left after 6 s")
            }
        }

        @Test("past the per-address and the global limit a new connection is closed within 1 s; the rest go on")
        func limits() async throws {
            Self.raiseFileLimit()
            try await JobgateInstance.with(
                arguments: ["--stop-engine-on-exit", "--max-connections", "40", "--max-connections-per-address", "30"]
            ) { gate in
                var idle: [Int32] = []
                defer { for descriptor in idle { close(descriptor) } }
                for _ in 0..<30 {
                    if let descriptor = TCP.connect(to: gate.port, from: "127.0.0.2") { idle.append(descriptor) }
                }
                try #require(idle.count == 30)
                let overAddress = try #require(TCP.connect(to: gate.port, from: "127.0.0.2"))
                defer { close(overAddress) }
                #expect(Self.isClosed(overAddress, within: 1), "the 31st connection from one address was not closed")
                #expect(try await gate.http.get("/healthz").status == 200, "another address was refused too")
                for _ in 0..<10 {
                    if let descriptor = TCP.connect(to: gate.port, from: "127.0.0.3") { idle.append(descriptor) }
                }
                try await Task.sleep(for: .milliseconds(200))
                let overAll = try #require(TCP.connect(to: gate.port, from: "127.0.0.4"))
                defer { close(overAll) }
                let refused = ContinuousClock.now
                #expect(Self.isClosed(overAll, within: 1), "a connection past the global limit was left waiting")
                #expect(ContinuousClock.now - refused < .seconds(1))
                print(
                    "connection limit: the connection past the global limit was closed after \(ContinuousClock.now - refused)"
                )
                for descriptor in idle { close(descriptor) }
                idle = []
                let back = try await eventually(timeout: .seconds(5)) {
                    (try? await gate.http.get("/healthz").status) == 200
                }
                #expect(back, "no connection was taken again once the idle ones closed")
            }
        }
    }
}
