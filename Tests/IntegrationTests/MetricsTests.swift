import Foundation
import JSON
import JobModel
import TestSupport
import Testing

extension Integration {
    /// `GET /metrics` parsed by Prometheus's own parser, before and after a backup: what the backup did moved the
    /// counters and histograms, and the gauges say where things stand.
    @Suite struct MetricsTests {
        /// The samples of one scrape (`name{labels}` -> value), through Support/parse_metrics.py.
        static func scrape(_ gate: JobgateInstance, headers: [String: String]) async throws -> [String: Double] {
            let answer = try await gate.http.send("GET", "/metrics", headers: headers)
            try #require(answer.status == 200, "GET /metrics: \(answer.status) \(answer.text)")
            #expect(answer.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let file = gate.dataDirectory + "/metrics-\(UUID().uuidString.prefix(6)).txt"
            try answer.text.write(toFile: file, atomically: true, encoding: .utf8)
            let python = try GeneratedClientTests.venvTool("python")
            let (status, output) = try await ChildProcess.run(
                python, [GeneratedClientTests.support + "/parse_metrics.py", file])
            try #require(status == 0, "the Prometheus parser refused GET /metrics: \(output)\n\(answer.text)")
            let parsed = try #require(try? JSONValue.parse(Data(output.utf8)).objectValue, "\(output)")
            return parsed.compactMapValues(\.doubleValue)
        }

        @Test("scrape, back up, scrape: requests, bytes, durations, QMP, fsyncs and events moved; gauges; read role")
        func backupMovesMetrics() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let tokens = try SecurityTests.tokenFile(
                in: directory,
                ["\(SecurityTests.readToken) read prometheus", "\(SecurityTests.operateToken) operate ci"])
            try await JobgateInstance.with(
                dataDirectory: directory, arguments: ["--stop-engine-on-exit", "--token-file", tokens]
            ) { gate in
                let read = SecurityTests.bearer(SecurityTests.readToken)
                let operate = SecurityTests.bearer(SecurityTests.operateToken)
                #expect(try await gate.http.get("/metrics").status == 401, "metrics without a token")
                let before = try await Self.scrape(gate, headers: read)
                let stream = try SSEClient(port: gate.port, path: "/events", headers: read)
                defer { stream.close() }
                // A cursor this jobgate never handed out: a resync.
                let stale = try SSEClient(
                    port: gate.port, path: "/events", headers: read.merging(["Last-Event-ID": "1-999999"]) { $1 })
                defer { stale.close() }
                #expect(await stale.wait(timeout: .seconds(5)) { $0.contains { $0.name == "resync" } })

                try await QemuTools.makeImage(gate.imageRoot + "/src.qcow2", size: "16M", filled: "8M")
                try await QemuTools.makeImage(gate.imageRoot + "/dst.qcow2", size: "16M")
                for name in ["src", "dst"] {
                    let node = try await gate.http.send(
                        "POST", "/nodes",
                        body:
                            #"{"node-name":"\#(name)","driver":"qcow2","file":{"driver":"file","filename":"\#(name).qcow2"}}"#,
                        headers: operate)
                    try #require(node.status == 201, "\(node.text)")
                }
                let created = try await gate.http.send(
                    "POST", "/jobs", body: #"{"type":"backup","id":"m0","device":"src","target":"dst","sync":"full"}"#,
                    headers: operate)
                try #require(created.status == 201, "\(created.text)")
                let gone = try await eventually(timeout: .seconds(30)) {
                    try await gate.http.send("GET", "/jobs/m0", headers: read).json?["status"] == "null"
                }
                try #require(gone, "the backup did not finish")
                let record = try #require(try await gate.http.send("GET", "/jobs/m0", headers: read).json)
                let after = try await Self.scrape(gate, headers: read)

                func moved(_ sample: String) -> Double { (after[sample] ?? 0) - (before[sample] ?? 0) }
                #expect(moved(#"jobgate_http_requests_total{method=POST,route=/jobs,status=201}"#) == 1, "\(after)")
                #expect(moved(#"jobgate_http_requests_total{method=POST,route=/nodes,status=201}"#) == 2)
                #expect(moved(#"jobgate_http_request_duration_seconds_count{method=POST,route=/jobs}"#) == 1)
                // The request counted under its pattern, never its path.
                #expect(after.keys.contains { $0.contains("route=/jobs/:id,") }, "no /jobs/:id series")
                #expect(!after.keys.contains { $0.contains("route=/jobs/m0") }, "a path became a label")
                let copied = record["current-progress"]?.doubleValue ?? 0
                #expect(copied > 0 && moved(#"jobgate_bytes_copied_total{type=backup}"#) == copied, "\(record)")
                #expect(moved(#"jobgate_job_duration_seconds_count{outcome=completed,type=backup}"#) == 1)
                #expect(after[#"jobgate_jobs{status=null,type=backup}"#] == 1)
                #expect(after[#"jobgate_jobs{status=running,type=backup}"#] == 0)
                #expect((after["jobgate_records{}"] ?? 0) >= 1)
                #expect(after["jobgate_event_streams_open{}"] == 2, "the two streams open now")
                #expect(moved(#"jobgate_event_resyncs_total{reason=unknown-cursor}"#) == 1)
                #expect(moved(#"jobgate_qmp_command_duration_seconds_count{command=blockdev-add}"#) >= 2)
                #expect(moved(#"jobgate_qmp_command_duration_seconds_count{command=blockdev-backup}"#) == 1)
                // Each status change was fdatasync'd and published: the journal's and the hub's histograms moved.
                let changes = Double(record["status-history"]?.arrayValue?.count ?? 0)
                #expect(moved("jobgate_journal_fsync_duration_seconds_count{}") >= 1)
                #expect(moved("jobgate_event_publish_lag_seconds_count{}") >= changes, "\(changes) status changes")
                #expect(after["jobgate_engine_restarts_total{}"] ?? 0 == 0)
            }
        }

        @Test("--log-format json: every line jobgate writes is one JSON object with time, level, label and message")
        func jsonLogs() async throws {
            let lines = try await JobgateInstance.with(arguments: ["--stop-engine-on-exit", "--log-format", "json"]) {
                gate -> [Substring] in
                let missing = try await gate.http.get("/nope")
                #expect(missing.status == 404)
                return gate.process.output.split(separator: "\n")
            }
            #expect(lines.count >= 3, "\(lines)")
            for line in lines {
                let entry = try? JSONValue.parse(Data(line.utf8))
                #expect(
                    entry?["time"]?.stringValue != nil && entry?["level"]?.stringValue != nil
                        && entry?["message"]?.stringValue != nil && entry?["label"] == "jobgate",
                    "not a JSON log line: \(line)")
            }
            #expect(lines.contains { $0.contains(#""path":"/nope""#) && $0.contains(#""status":"404""#) })
        }
    }
}
