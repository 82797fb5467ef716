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

        /// A self-signed certificate for 127.0.0.1 with a new RSA key.
        static func makeCertificate(key: String, certificate: String) async throws {
            let (made, output) = try await ChildProcess.run(
                try Self.tool("openssl"),
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                ])
            try #require(made == 0, "openssl: \(output)")
        }

        /// A jobgate serving HTTPS with `certificate` and `key` (the engine not awaited: curl checks readiness).
        static func startTLS(_ directory: String, certificate: String, key: String) async throws -> JobgateInstance {
            try await JobgateInstance.start(
                dataDirectory: directory,
                arguments: ["--stop-engine-on-exit", "--tls-cert", certificate, "--tls-key", key],
                waitForEngine: false)
        }

        @Test("SIGHUP serves a new certificate to new connections; an open stream goes on; a bad file changes nothing")
        func reloadOnHangup() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let (key, certificate) = (directory + "/key.pem", directory + "/cert.pem")
            let (firstKey, firstCertificate) = (directory + "/first-key.pem", directory + "/first.pem")
            try await Self.makeCertificate(key: firstKey, certificate: firstCertificate)
            try FileManager.default.copyItem(atPath: firstKey, toPath: key)
            try FileManager.default.copyItem(atPath: firstCertificate, toPath: certificate)
            let gate = try await Self.startTLS(directory, certificate: certificate, key: key)
            let curl = try Self.tool("curl")
            let base = "https://127.0.0.1:\(gate.port)"
            func status(trusting authority: String, _ path: String = "/healthz") async throws -> String {
                try await ChildProcess.run(
                    curl,
                    ["-s", "-m", "5", "--cacert", authority, "-o", "/dev/null", "-w", "%{http_code}", base + path]
                ).output
            }
            do {
                let ready = try await eventually(timeout: .seconds(30)) {
                    try await status(trusting: firstCertificate, "/readyz") == "200"
                }
                try #require(ready, "never ready over HTTPS:\n\(gate.process.output)")
                let stream = try ChildProcess(
                    curl, ["-sSN", "--cacert", firstCertificate, base + "/events"],
                    outputPath: directory + "/events.txt")
                defer { stream.signal(SIGKILL) }
                try await Task.sleep(for: .milliseconds(300))

                // A new key and certificate in place of the old, then SIGHUP.
                try await Self.makeCertificate(key: key, certificate: certificate)
                gate.process.signal(SIGHUP)
                let switched = try await eventually(timeout: .seconds(10)) {
                    try await status(trusting: certificate) == "200"
                }
                #expect(switched, "the new certificate is not served after SIGHUP:\n\(gate.process.output)")
                #expect(try await status(trusting: firstCertificate) == "000", "the old certificate is still served")

                // The stream opened under the old certificate still gets events.
                try await QemuTools.makeImage(gate.imageRoot + "/s.qcow2", size: "16M", filled: "1M")
                let (_, created) = try await ChildProcess.run(
                    curl,
                    [
                        "-sS", "--cacert", certificate, "--json",
                        #"{"type":"create","id":"c0","options":{"driver":"file","filename":"new.img","size":1048576}}"#,
                        base + "/jobs",
                    ])
                #expect(created.contains(#""id":"c0""#), "\(created)")
                let followed = await eventually(timeout: .seconds(20)) { stream.output.contains(#""id":"c0""#) }
                #expect(followed, "the stream opened before SIGHUP stopped:\n\(stream.output)")

                // A key that does not belong to the certificate: logged, and the certificate in force stays.
                try FileManager.default.removeItem(atPath: key)
                try FileManager.default.copyItem(atPath: firstKey, toPath: key)
                gate.process.signal(SIGHUP)
                let logged = await eventually(timeout: .seconds(10)) {
                    gate.process.output.contains("TLS certificate not reloaded")
                }
                #expect(logged, "\(gate.process.output)")
                #expect(try await status(trusting: certificate) == "200")
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }

        @Test("a key that is not the certificate's refuses to start, saying so")
        func mismatchedKeyRefusesToStart() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await Self.makeCertificate(key: directory + "/a-key.pem", certificate: directory + "/a.pem")
            try await Self.makeCertificate(key: directory + "/b-key.pem", certificate: directory + "/b.pem")
            let (status, output) = try await ChildProcess.run(
                JobgateInstance.binary,
                [
                    "--listen", "127.0.0.1:0", "--data-dir", directory, "--tls-cert", directory + "/a.pem", "--tls-key",
                    directory + "/b-key.pem",
                ])
            #expect(status != 0)
            #expect(output.contains("the TLS certificate and key cannot be used"), "\(output)")
        }

        @Test("curl --cacert runs a backup over HTTPS and follows its events; plain HTTP gets no answer")
        func backupOverHTTPS() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let key = directory + "/key.pem"
            let certificate = directory + "/cert.pem"
            try await Self.makeCertificate(key: key, certificate: certificate)
            let gate = try await Self.startTLS(directory, certificate: certificate, key: key)
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
