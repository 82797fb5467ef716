import Foundation
import QMP
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// `Type=notify` in deploy/systemd/jobgate.service: jobgate tells systemd `READY=1` on `$NOTIFY_SOCKET` when
    /// `/readyz` would answer 200, not when it merely listens.
    @Suite struct SystemdNotifyTests {
        /// A datagram socket bound at `path`, as systemd's notify socket is; reads time out after 100 ms.
        static func notifySocket(at path: String) throws -> Int32 {
            let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            try #require(descriptor >= 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            try #require(bound == 0, "bind \(path): \(errno)")
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return descriptor
        }

        /// The next datagram, or nil within about 100 ms.
        static func receive(_ descriptor: Int32) -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
        }

        @Test("READY=1 only once /readyz is 200: not while the engine's socket has no QEMU, at once when it has")
        func readyWhenReady() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let notify = try Self.notifySocket(at: directory + "/notify.sock")
            defer { close(notify) }
            let engineSocket = directory + "/vm.sock"
            let gate = try await JobgateInstance.start(
                dataDirectory: directory, arguments: ["--qmp-socket", engineSocket], waitForEngine: false,
                environment: ["NOTIFY_SOCKET": directory + "/notify.sock"])
            let engine = Engine()
            do {
                try await Self.check(gate, notify: notify, engine: engine, socket: engineSocket)
            } catch {
                engine.process?.signal(SIGKILL)
                await gate.cleanUp()
                throw error
            }
            engine.process?.signal(SIGKILL)
            await gate.cleanUp()
        }

        /// The QEMU the test starts on jobgate's engine socket, once it has.
        final class Engine: @unchecked Sendable {
            var process: ChildProcess?
        }

        static func check(_ gate: JobgateInstance, notify: Int32, engine: Engine, socket engineSocket: String)
            async throws
        {
            // Listening, records loaded, but no engine: not ready, and no READY=1 for 2 s.
            let deadline = ContinuousClock.now + .seconds(2)
            var early: [String] = []
            while ContinuousClock.now < deadline {
                if let message = Self.receive(notify) { early.append(message) }
            }
            #expect(early.isEmpty, "sent before ready: \(early)")
            #expect(try await gate.http.get("/readyz").status == 503)

            // A QEMU on the socket: READY=1 follows, and /readyz is 200 when it comes.
            engine.process = try ChildProcess(
                try QemuTools.tool(EngineHost.defaultBinary(for: .system)),
                [
                    "-machine", "none", "-nodefaults", "-display", "none", "-qmp",
                    "unix:\(engineSocket),server=on,wait=off",
                ],
                outputPath: gate.dataDirectory + "/qemu.out")
            var message: String?
            let waited = ContinuousClock.now
            while message == nil && ContinuousClock.now - waited < .seconds(30) { message = Self.receive(notify) }
            let readiness = try await gate.http.get("/readyz").status
            #expect(message?.split(separator: "\n").contains("READY=1") == true, "no READY=1: \(message ?? "nothing")")
            #expect(readiness == 200, "READY=1 came while /readyz said \(readiness)")
            #expect(message?.contains("STATUS=") == true)
        }
    }
}
