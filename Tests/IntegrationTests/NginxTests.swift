import Foundation
import JSON
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// jobgate behind Debian's nginx with `deploy/nginx/jobgate.conf`: TLS at nginx, the API and event streams
    /// through it, jobgate's Host and Origin checks passed by the forwarded headers.
    @Suite struct NginxTests {
        static func curl() throws -> String {
            try #require(ChildProcess.find("curl"), "curl is not installed (scripts/deps.sh)")
        }

        /// The ids of the events in an event-stream text, with when each first appeared, as `seen` records them.
        final class Arrivals: @unchecked Sendable {
            private(set) var times: [String: ContinuousClock.Instant] = [:]
            private(set) var order: [String] = []

            func note(_ text: String, at now: ContinuousClock.Instant) {
                for line in text.split(separator: "\n") where line.hasPrefix("id: ") {
                    let id = String(line.dropFirst(4))
                    if times[id] == nil {
                        times[id] = now
                        order.append(id)
                    }
                }
            }
        }

        @Test(
            "events through nginx within 100 ms of jobgate's own stream, in order; Last-Event-ID resumes; Host/Origin")
        func eventsThroughProxy() async throws {
            try await JobgateInstance.with(
                arguments: ["--stop-engine-on-exit", "--allowed-host", Nginx.serverName, "--sse-heartbeat", "1"]
            ) { gate in
                let proxy = try await Nginx.start(upstreamPort: gate.port)
                do {
                    try await Self.drive(gate, proxy)
                    await proxy.stop()
                } catch {
                    await proxy.stop()
                    throw error
                }
            }
        }

        @Test("the dashboard through nginx with tokens on: a token once, a ticket per stream, a job appears and pauses")
        func dashboardThroughProxy() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let token = SecurityTests.operateToken
            let tokens = try SecurityTests.tokenFile(in: directory, ["\(token) operate web"])
            try await JobgateInstance.with(
                dataDirectory: directory,
                arguments: ["--stop-engine-on-exit", "--token-file", tokens, "--allowed-host", Nginx.serverName]
            ) { gate in
                let proxy = try await Nginx.start(upstreamPort: gate.port)
                // The browser trusts nginx's self-signed certificate by its SPKI hash and resolves the name here.
                let (_, pin) = try await ChildProcess.run(
                    "/bin/sh",
                    [
                        "-c",
                        "openssl x509 -in \(proxy.certificate) -pubkey -noout | openssl pkey -pubin -outform der"
                            + " | openssl dgst -sha256 -binary | base64",
                    ])
                let browser = try await WebDriver.start(browserArguments: [
                    "--host-resolver-rules=MAP \(Nginx.serverName) 127.0.0.1",
                    "--ignore-certificate-errors-spki-list=\(pin.trimmingCharacters(in: .whitespacesAndNewlines))",
                ])
                do {
                    try await Self.useDashboard(browser, gate: gate, proxy: proxy, token: token)
                    await browser.quit()
                    await proxy.stop()
                } catch {
                    await browser.quit()
                    await proxy.stop()
                    throw error
                }
            }
        }

        static func useDashboard(_ browser: WebDriver, gate: JobgateInstance, proxy: Nginx, token: String) async throws
        {
            try await browser.open(proxy.origin + "/")
            let asked = try await eventually(timeout: .seconds(10)) {
                try await browser.run(##"return !document.querySelector("#auth").hidden;"##) == true
            }
            try #require(asked, "the page did not ask for a token")
            _ = try await browser.run(
                """
                document.querySelector("#token").value = "\(token)";
                document.querySelector('#auth button[type="submit"]').click();
                return true;
                """)
            let opened = try await eventually(timeout: .seconds(10)) {
                try await browser.run("return document.body.dataset.stream || null;") == "open"
            }
            try #require(opened, "the page's event stream did not open through nginx")
            let bearer = SecurityTests.bearer(token)
            for name in ["web-s", "web-t"] {
                let node = try await gate.http.send(
                    "POST", "/nodes", body: #"{"node-name":"\#(name)","driver":"null-co","size":1073741824}"#,
                    headers: bearer)
                try #require(node.status == 201, "\(node.text)")
            }
            let created = try await gate.http.send(
                "POST", "/jobs",
                body: #"{"type":"backup","id":"web","device":"web-s","target":"web-t","sync":"full","speed":16777216}"#,
                headers: bearer)
            try #require(created.status == 201, "\(created.text)")
            let running = try await eventually(timeout: .seconds(10)) {
                try await DashboardTests.row(browser, "web")["status"] == "running"
            }
            let shown = try await DashboardTests.row(browser, "web")
            #expect(running, "the job's row through nginx: \(shown)")
            _ = try await browser.run(
                #"document.querySelector('tr[data-job-id="web"] button[data-verb="pause"]').click(); return true;"#)
            let paused = try await eventually(timeout: .seconds(10)) {
                try await gate.http.send("GET", "/jobs/web", headers: bearer).json?["status"] == "paused"
            }
            #expect(paused, "pause from the page through nginx did not reach QEMU")
            let rowPaused = try await eventually(timeout: .seconds(5)) {
                try await DashboardTests.row(browser, "web")["status"] == "paused"
            }
            #expect(rowPaused)
            let stored = try await browser.run(#"return sessionStorage.getItem("jobgate-token");"#)
            #expect(stored.stringValue == token, "the token is not kept for the tab")
            let foreign = try await browser.run(
                """
                return performance.getEntriesByType("resource").map(e => e.name)
                    .filter(name => new URL(name).origin !== location.origin);
                """)
            #expect(foreign == [], "requests left the proxy's origin: \(foreign)")
        }

        static func drive(_ gate: JobgateInstance, _ proxy: Nginx) async throws {
            let curl = try curl()
            let directory = gate.dataDirectory
            let direct = try ChildProcess(
                curl, ["-sSN", "http://127.0.0.1:\(gate.port)/events"], outputPath: directory + "/direct.txt")
            let proxied = try ChildProcess(
                curl, proxy.curlArguments("/events", ["-N"]), outputPath: directory + "/proxied.txt")
            defer {
                direct.signal(SIGKILL)
                proxied.signal(SIGKILL)
            }
            let open = await eventually(timeout: .seconds(5)) { proxied.output.contains("retry:") }
            try #require(open, "the stream through nginx did not open: \(proxied.output)")

            // A backup of about 2 s, created through nginx from the public origin.
            for name in ["px-s", "px-t"] {
                let node = try await gate.http.post(
                    "/nodes", #"{"node-name":"\#(name)","driver":"null-co","size":67108864}"#)
                try #require(node.status == 201, "\(node.text)")
            }
            let body = #"{"type":"backup","id":"px","device":"px-s","target":"px-t","sync":"full","speed":33554432}"#
            let (_, created) = try await ChildProcess.run(
                curl,
                proxy.curlArguments(
                    "/jobs", ["-o", "/dev/null", "-w", "%{http_code}", "-H", "Origin: \(proxy.origin)", "--json", body]
                ))
            #expect(created == "201", "POST /jobs through nginx from its own origin: \(created)")

            // Both streams watched side by side until the job is gone (status null) on both.
            let (first, second) = (Arrivals(), Arrivals())
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let now = ContinuousClock.now
                first.note(direct.output, at: now)
                second.note(proxied.output, at: now)
                if proxied.output.contains(#""status":"null""#) && direct.output.contains(#""status":"null""#) {
                    break
                }
                try await Task.sleep(for: .milliseconds(2))
            }
            first.note(direct.output, at: .now)
            second.note(proxied.output, at: .now)
            #expect(first.order.count >= 6, "too few events to compare: \(first.order)")
            #expect(second.order == first.order, "through nginx: \(second.order)\ndirect: \(first.order)")
            let delays = first.order.compactMap { id -> Duration? in
                guard let at = first.times[id], let through = second.times[id] else { return nil }
                return through - at
            }
            let worst = delays.max() ?? .zero
            print("nginx: \(delays.count) events, the slowest \(worst) later through nginx than direct")
            #expect(worst < .milliseconds(100), "an event came \(worst) later through nginx")

            // Heartbeats pass while the stream is idle.
            let beats = await eventually(timeout: .seconds(5)) { proxied.output.contains(": heartbeat") }
            #expect(beats, "no heartbeat through nginx")

            // Resume through nginx after the third event: exactly the events after it, from the journal.
            let after = first.order[2]
            let (_, resumed) = try await ChildProcess.run(
                curl, proxy.curlArguments("/events", ["-N", "--max-time", "2", "-H", "Last-Event-ID: \(after)"]))
            let replayed = Arrivals()
            replayed.note(resumed, at: .now)
            #expect(replayed.order == Array(first.order.dropFirst(3)), "resumed after \(after): \(replayed.order)")

            // The checks still hold behind the proxy: a change from another origin is 403 problem+json, an
            // unknown job 404 problem+json, both passed through as jobgate wrote them.
            let (_, foreign) = try await ChildProcess.run(
                curl,
                proxy.curlArguments(
                    "/jobs/px/dismiss", ["-i", "-H", "Origin: https://evil.test", "-X", "POST"]))
            #expect(
                foreign.hasPrefix("HTTP/2 403") && foreign.contains("application/problem+json"),
                "a foreign origin through nginx: \(foreign)")
            let (_, missing) = try await ChildProcess.run(curl, proxy.curlArguments("/jobs/nope", ["-i"]))
            #expect(
                missing.hasPrefix("HTTP/2 404") && missing.contains(#""status":404"#), "through nginx: \(missing)")
        }
    }
}
