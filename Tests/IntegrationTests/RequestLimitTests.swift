import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// What is too large is refused early and, where jobgate can answer, as problem+json.
    @Suite struct RequestLimitTests {
        /// Sends `head`, then chunks of `chunk` bytes until the server closes the connection or `total` bytes went.
        /// - Returns: the bytes of body the socket accepted.
        static func streamChunked(port: UInt16, head: String, chunk: Int, total: Int) -> Int {
            guard
                let descriptor = TCP.connect(
                    to: port,
                    configure: { descriptor in
                        var small: Int32 = 64 << 10
                        setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
                    })
            else { return -1 }
            defer { close(descriptor) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            func sendAll(_ bytes: [UInt8]) -> Bool {
                var offset = 0
                while offset < bytes.count {
                    let sent = bytes.withUnsafeBytes {
                        send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                    }
                    if sent <= 0 { return false }
                    offset += sent
                }
                return true
            }
            guard sendAll(Array(head.utf8)) else { return 0 }
            let frame =
                Array(String(chunk, radix: 16).utf8) + [13, 10] + [UInt8](repeating: 32, count: chunk) + [13, 10]
            var accepted = 0
            while accepted < total, sendAll(frame) {
                accepted += chunk
                usleep(1000)
            }
            return accepted
        }

        @Test("oversized target and headers are 414/431 problem+json; a huge chunked body is cut off before 2 MiB")
        func limits() async throws {
            try await JobgateInstance.with { gate in
                let longTarget = "/jobs/" + String(repeating: "a", count: 100_000)
                let target = HTTP.raw(port: gate.port, Array("GET \(longTarget) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                #expect(target.hasPrefix("HTTP/1.1 414"), "\(target.prefix(300))")
                #expect(target.contains("application/problem+json") && target.contains("target-too-long"))

                let bigHeader = "X-Big: " + String(repeating: "b", count: 100_000)
                let header = HTTP.raw(
                    port: gate.port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\(bigHeader)\r\n\r\n".utf8))
                #expect(header.hasPrefix("HTTP/1.1 431"), "\(header.prefix(300))")
                #expect(header.contains("application/problem+json") && header.contains("headers-too-large"))

                // Documented exceptions: libmicrohttpd answers a malformed length or chunking itself (400).
                let negative = HTTP.raw(
                    port: gate.port, Array("POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".utf8))
                #expect(negative.hasPrefix("HTTP/1.1 400"), "\(negative.prefix(300))")
                let badChunk = HTTP.raw(
                    port: gate.port,
                    Array("POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n".utf8))
                #expect(badChunk.hasPrefix("HTTP/1.1 400"), "\(badChunk.prefix(300))")

                let accepted = Self.streamChunked(
                    port: gate.port,
                    head:
                        "POST /nodes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                    chunk: 64 << 10, total: 200 << 20)
                #expect(accepted > 0 && accepted < 2 << 20, "\(accepted) bytes of a 200 MB chunked body went in")

                let health = try await gate.http.get("/healthz")
                #expect(health.status == 200)
            }
        }
    }
}
