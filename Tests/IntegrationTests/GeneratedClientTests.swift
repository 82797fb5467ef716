import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// The contract as orchestration systems use it: Python clients generated from openapi/openapi.yaml by
    /// openapi-python-client and by OpenAPI Generator (requirements-test.txt, installed by scripts/test.sh; the
    /// latter runs on Debian's JRE) drive jobs. Both validate every answer against the spec's models.
    @Suite struct GeneratedClientTests {
        static var venv: String {
            ProcessInfo.processInfo.environment["JOBGATE_TEST_VENV"]
                ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".venv-test").path
        }

        /// A program from `.venv-test`; a missing one fails the test (scripts/test.sh installs them).
        static func venvTool(_ name: String) throws -> String {
            let path = venv + "/bin/" + name
            try #require(
                FileManager.default.isExecutableFile(atPath: path),
                "\(name) is not installed in \(venv) (scripts/test.sh installs requirements-test.txt)")
            return path
        }

        /// The test scripts' directory, and the spec the clients are generated from.
        static let support = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Support"
        static let spec = URL(fileURLWithPath: support).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("openapi/openapi.yaml").path

        @Test("openapi-python-client's client attaches, backs up, pauses and resumes without a body, lists, detaches")
        func pythonClientBackup() async throws {
            let generator = try Self.venvTool("openapi-python-client")
            let (support, spec) = (Self.support, Self.spec)
            try await JobgateInstance.with { gate in
                let output = gate.dataDirectory + "/client"
                let (generated, log) = try await ChildProcess.run(
                    generator,
                    ["generate", "--path", spec, "--meta", "none", "--output-path", output + "/jobgate_client"])
                try #require(generated == 0, "openapi-python-client failed: \(log)")
                try await QemuTools.makeImage(gate.imageRoot + "/src.qcow2", size: "16M", filled: "4M")
                try await QemuTools.makeImage(gate.imageRoot + "/dst.qcow2", size: "16M")
                let (status, result) = try await ChildProcess.run(
                    "/usr/bin/env",
                    [
                        "PYTHONPATH=\(output)", Self.venv + "/bin/python", support + "/generated_client_backup.py",
                        "http://127.0.0.1:\(gate.port)",
                    ])
                #expect(status == 0 && result.hasSuffix("ok\n"), "the generated client failed:\n\(result)")
                let comparison = try await QemuTools.compare(
                    gate.imageRoot + "/src.qcow2", gate.imageRoot + "/dst.qcow2")
                #expect(comparison.identical, "\(comparison.output)")
            }
        }

        @Test("OpenAPI Generator's Python client lists full and summary pages, reads records, applies verbs")
        func openAPIGeneratorClient() async throws {
            let generator = try Self.venvTool("openapi-generator-cli")
            try #require(
                ChildProcess.find("java") != nil,
                "java is not installed (Debian package default-jre-headless); scripts/test.sh installs it")
            let (support, spec) = (Self.support, Self.spec)
            try await JobgateInstance.with { gate in
                let output = gate.dataDirectory + "/og-client"
                let (generated, log) = try await ChildProcess.run(
                    generator,
                    [
                        "generate", "-i", spec, "-g", "python", "-o", output, "--package-name", "jobgate_og",
                        "--additional-properties=generateSourceCodeOnly=true",
                    ])
                try #require(generated == 0, "OpenAPI Generator failed: \(log)")
                try await gate.attachSourceAndTarget(filled: "4M")
                try await QemuTools.makeImage(gate.imageRoot + "/slow.qcow2", size: "64M", filled: "32M")
                try await QemuTools.makeImage(gate.imageRoot + "/slowdst.qcow2", size: "64M")
                try await gate.addQcow2Node("slowsrc", file: "slow.qcow2")
                try await gate.addQcow2Node("slowdst", file: "slowdst.qcow2")
                try await gate.createJob(
                    #"{"type":"backup","id":"done","device":"src","target":"dst","sync":"full","auto-dismiss":false}"#)
                try await gate.waitForJob("done", status: ["concluded"])
                try await gate.createJob(
                    #"{"type":"backup","id":"slow","device":"slowsrc","target":"slowdst","sync":"full","speed":65536}"#)
                let (status, result) = try await ChildProcess.run(
                    "/usr/bin/env",
                    [
                        "PYTHONPATH=\(output)", Self.venv + "/bin/python", support + "/openapi_generator_client.py",
                        "http://127.0.0.1:\(gate.port)",
                    ])
                #expect(status == 0 && result.hasSuffix("ok\n"), "the generated client failed:\n\(result)")
                let slow = try await gate.waitForJob("slow", status: ["null"])
                #expect(slow["stats"]?["outcome"] == "completed", "\(slow)")
                try await gate.deleteNode("slowsrc")
                try await gate.deleteNode("slowdst")
                #expect(
                    try await QemuTools.compare(gate.imageRoot + "/slow.qcow2", gate.imageRoot + "/slowdst.qcow2")
                        .identical)
            }
        }
    }
}
