import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// HTTPS with libmicrohttpd's own TLS: a certificate made here with openssl, and curl trusting only it.
    @Suite struct TLSTests {
        static func tool(_ name: String) throws -> String {
            try #require(ChildProcess.find(name), "\(name) is not installed (scripts/deps.sh installs it)")
        }

        @Test("curl --cacert runs a backup over HTTPS and follows its events; plain HTTP gets no answer")
        func backupOverHTTPS() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let key = directory + "/key.pem"
            let certificate = directory + "/cert.pem"
            let (made, output) = try await ChildProcess.run(
                try Self.tool("openssl"),
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                ])
            try #require(made == 0, "openssl: \(output)")
            let gate = try await JobgateInstance.start(
                dataDirectory: directory,
                arguments: ["--stop-engine-on-exit", "--tls-cert", certificate, "--tls-key", key],
                waitForEngine: false)
            let curl = try Self.tool("curl")
            let base = "https://127.0.0.1:\(gate.port)"
            func call(_ arguments: String...) async throws -> (Int32, String) {
                try await ChildProcess.run(curl, ["-sS", "--cacert", certificate] + arguments)
            }
            do {
                let ready = try await eventually(timeout: .seconds(30)) {
                    try await call("-o", "/dev/null", "-w", "%{http_code}", base + "/readyz").1 == "200"
                }
                try #require(ready, "never ready over HTTPS:\n\(gate.process.output)")
                try await QemuTools.makeImage(gate.imageRoot + "/src.qcow2", size: "16M", filled: "8M")
                try await QemuTools.makeImage(gate.imageRoot + "/dst.qcow2", size: "16M")
                for name in ["src", "dst"] {
                    let (_, answer) = try await call(
                        "--json",
                        #"{"node-name":"\#(name)","driver":"qcow2","file":{"driver":"file","filename":"\#(name).qcow2"}}"#,
                        base + "/nodes")
                    #expect(answer.contains(#""node-name":"\#(name)""#), "\(answer)")
                }
                let eventsPath = directory + "/events.txt"
                let events = try ChildProcess(
                    curl, ["-sSN", "--cacert", certificate, base + "/events?job=b0"], outputPath: eventsPath)
                defer { events.signal(SIGKILL) }
                try await Task.sleep(for: .milliseconds(300))
                let (_, created) = try await call(
                    "--json", #"{"type":"backup","id":"b0","device":"src","target":"dst","sync":"full"}"#,
                    base + "/jobs")
                #expect(created.contains(#""id":"b0""#), "\(created)")
                let followed = await eventually(timeout: .seconds(30)) {
                    events.output.contains(#""status":"null""#)
                }
                #expect(followed, "the event stream over HTTPS did not follow the job:\n\(events.output)")
                #expect(events.output.contains(#""status":"concluded""#))
                for name in ["src", "dst"] { _ = try await call("-X", "DELETE", base + "/nodes/\(name)") }
                let comparison = try await QemuTools.compare(
                    gate.imageRoot + "/src.qcow2", gate.imageRoot + "/dst.qcow2")
                #expect(comparison.identical, "\(comparison.output)")
                // Plain HTTP on the TLS port gets no HTTP answer; an untrusting client refuses the certificate.
                let (_, plain) = try await ChildProcess.run(
                    curl,
                    ["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(gate.port)/healthz"])
                #expect(plain != "200", "plain HTTP was answered on the HTTPS port")
                let (untrusted, _) = try await ChildProcess.run(curl, ["-s", "-m", "5", base + "/healthz"])
                #expect(untrusted != 0, "curl accepted a self-signed certificate it was not given")
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }
    }
}
