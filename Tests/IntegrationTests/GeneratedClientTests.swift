import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// The contract as orchestration systems use it: a Python client generated from openapi/openapi.yaml by
    /// openapi-python-client (requirements-test.txt, installed by scripts/test.sh) runs a backup.
    @Suite struct GeneratedClientTests {
        static var venv: String {
            ProcessInfo.processInfo.environment["JOBGATE_TEST_VENV"]
                ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".venv-test").path
        }

        @Test("openapi-python-client's client attaches, backs up, pauses and resumes without a body, lists, detaches")
        func pythonClientBackup() async throws {
            let generator = Self.venv + "/bin/openapi-python-client"
            try #require(
                FileManager.default.isExecutableFile(atPath: generator),
                "openapi-python-client is not installed in \(Self.venv) (scripts/test.sh installs requirements-test.txt)"
            )
            let support = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Support"
            let spec = URL(fileURLWithPath: support).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("openapi/openapi.yaml").path
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
    }
}
