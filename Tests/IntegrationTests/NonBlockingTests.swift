import Foundation
import JobModel
import Synchronization
import TestSupport
import Testing

extension Integration {
    /// No libmicrohttpd thread ever waits on QMP; every QMP command has a deadline.
    @Suite struct NonBlockingTests {
        @Test("health and job list answer while QMP replies are held back; a stuck command becomes 504")
        func healthAnswersWhileQMPIsSlow() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let fake = try FakeQMPServer(socketPath: directory + "/fake.sock") { command, _ in
                switch command {
                case "query-named-block-nodes": .hold([])
                case "blockdev-add": .ignore
                default: .value([])
                }
            }
            defer { fake.close() }
            let gate = try await JobgateInstance.start(
                dataDirectory: directory,
                arguments: ["--qmp-socket", fake.socketPath, "--threads", "2", "--qmp-timeout", "2"])
            do {
                // More slow requests than libmicrohttpd has threads.
                let finished = Counter()
                let slow = (0..<4).map { _ in
                    Task {
                        let answer = try await gate.http.get("/nodes")
                        finished.increment()
                        return answer
                    }
                }
                let arrived = await eventually(timeout: .seconds(10)) {
                    fake.received.filter { $0 == "query-named-block-nodes" }.count == 4
                }
                #expect(arrived, "slow requests did not reach QMP: \(fake.received)")

                let health = try await gate.http.get("/healthz")
                #expect(health.status == 200)
                #expect(try await gate.http.get("/jobs").status == 200)
                #expect(try await gate.http.get("/readyz").status == 200)
                #expect(fake.received.filter { $0 == "query-named-block-nodes" }.count == 4)
                #expect(finished.value == 0, "a slow request finished before its QMP reply was released")

                fake.release()
                for request in slow {
                    #expect(try await request.value.status == 200)
                }

                // A command QEMU never answers: the request fails with 504 after --qmp-timeout, not a hang.
                let stuck = try await gate.http.post(
                    "/nodes", #"{"node-name":"n0","driver":"null-co"}"#)
                #expect(stuck.status == 504, "\(stuck.text)")
                #expect(stuck.json?["type"] == "urn:jobgate:problem:engine-timeout")
            } catch {
                await gate.cleanUp()
                throw error
            }
            await gate.cleanUp()
        }
    }
}

/// A thread-safe count.
private final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
