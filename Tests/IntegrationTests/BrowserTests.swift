import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// A dashboard on another origin, in a real headless Chromium: what `--cors-origin` lets through, and what
    /// the browser itself refuses to any other origin.
    @Suite struct BrowserTests {
        static let token = "browser-token-0123456789abcdef"

        /// `python3 -m http.server` on `address`, serving an empty page: a web origin of its own.
        static func pageServer(on address: String, directory: String) throws -> (ChildProcess, String) {
            let python = try #require(ChildProcess.find("python3"), "python3 is not installed")
            let port = Int.random(in: 40_000..<60_000)
            try "<!doctype html><title>dashboard</title>".write(
                toFile: directory + "/index.html", atomically: true, encoding: .utf8)
            let server = try ChildProcess(
                python, ["-m", "http.server", "\(port)", "--bind", address, "--directory", directory],
                outputPath: directory + "/server-\(address).log")
            return (server, "http://\(address):\(port)")
        }

        @Test("a listed origin gets a ticket, the job's events through EventSource, and a POST; an unlisted one none")
        func corsInChromium() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let pages = directory + "/pages"
            try FileManager.default.createDirectory(atPath: pages, withIntermediateDirectories: true)
            let (listedServer, listed) = try Self.pageServer(on: "127.0.0.2", directory: pages)
            let (otherServer, unlisted) = try Self.pageServer(on: "127.0.0.3", directory: pages)
            defer {
                listedServer.signal(SIGKILL)
                otherServer.signal(SIGKILL)
            }
            let tokens = directory + "/tokens"
            try "\(Self.token) operate dashboard\n".write(toFile: tokens, atomically: true, encoding: .utf8)
            chmod(tokens, 0o600)
            try await JobgateInstance.with(
                dataDirectory: directory,
                arguments: ["--stop-engine-on-exit", "--token-file", tokens, "--cors-origin", listed]
            ) { gate in
                let browser = try await WebDriver.start()
                do {
                    try await Self.drive(browser, gate: gate, listed: listed, unlisted: unlisted)
                    await browser.quit()
                } catch {
                    await browser.quit()
                    throw error
                }
            }
        }

        /// The page scripts: on the listed origin, then on the unlisted one.
        static func drive(_ browser: WebDriver, gate: JobgateInstance, listed: String, unlisted: String) async throws {
            let served = try await eventually(timeout: .seconds(10)) {
                let first = try? await HTTP(base: URL(string: listed)!).get("/").status
                let second = try? await HTTP(base: URL(string: unlisted)!).get("/").status
                return first == 200 && second == 200
            }
            try #require(served, "the page servers did not start")
            let prelude = """
                const base = "http://127.0.0.1:\(gate.port)";
                const auth = {Authorization: "Bearer \(Self.token)"};
                const json = {...auth, "Content-Type": "application/json"};
                const post = (path, body) => fetch(base + path, {method: "POST", headers: json, body: JSON.stringify(body)});
                """

            try await browser.open(listed + "/")
            let result = try await browser.run(
                prelude + """
                    const t = await fetch(base + "/events/tickets", {method: "POST", headers: auth});
                    if (t.status !== 201) return {step: "ticket", status: t.status};
                    const {ticket} = await t.json();
                    const events = [];
                    const source = new EventSource(base + "/events?ticket=" + ticket);
                    source.addEventListener("JOB_STATUS_CHANGE", e => events.push(JSON.parse(e.data)));
                    const opened = await new Promise(resolve => {
                        source.onopen = () => resolve(true); setTimeout(() => resolve(false), 5000); });
                    if (!opened) return {step: "stream"};
                    for (const name of ["s", "t"]) {
                        const r = await post("/nodes", {"node-name": name, driver: "null-co", size: 16777216});
                        if (r.status !== 201) return {step: "node", status: r.status, body: await r.text()};
                    }
                    const created = await post("/jobs", {type: "backup", id: "web0", device: "s", target: "t", sync: "full"});
                    const deadline = Date.now() + 20000;
                    while (!events.some(e => e.id === "web0" && e.status === "null") && Date.now() < deadline)
                        await new Promise(r => setTimeout(r, 100));
                    source.close();
                    return {created: created.status, location: created.headers.get("Location"),
                            statuses: events.filter(e => e.id === "web0").map(e => e.status)};
                    """)
            #expect(result["created"] == 201, "\(result)")
            #expect(result["location"] == "/jobs/web0", "Location is not exposed to the page: \(result)")
            let statuses = result["statuses"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(statuses.first == "created" && statuses.last == "null", "events seen by the page: \(result)")

            // A ticket got out of band: the unlisted origin's EventSource still fails, in the browser.
            let ticket = try #require(
                try await gate.http.send(
                    "POST", "/events/tickets", headers: ["Authorization": "Bearer \(Self.token)"]
                ).json?["ticket"]?.stringValue)
            try await browser.open(unlisted + "/")
            let refused = try await browser.run(
                prelude + """
                    const out = {};
                    try { out.ticket = (await fetch(base + "/events/tickets", {method: "POST", headers: auth})).status; }
                    catch (e) { out.ticket = "blocked"; }
                    try { out.post = (await post("/jobs", {type: "backup", id: "evil0", device: "s", target: "t", sync: "full"})).status; }
                    catch (e) { out.post = "blocked"; }
                    const source = new EventSource(base + "/events?ticket=\(ticket)");
                    out.stream = await new Promise(resolve => {
                        source.onopen = () => resolve("open"); source.onerror = () => resolve("error");
                        setTimeout(() => resolve("timeout"), 5000); });
                    source.close();
                    return out;
                    """)
            #expect(refused["ticket"] == "blocked", "\(refused)")
            #expect(refused["post"] == "blocked", "\(refused)")
            #expect(refused["stream"] == "error", "\(refused)")
            let evil = try await gate.http.send(
                "GET", "/jobs/evil0", headers: ["Authorization": "Bearer \(Self.token)"])
            #expect(evil.status == 404, "the unlisted origin's POST created a job")
        }
    }
}
