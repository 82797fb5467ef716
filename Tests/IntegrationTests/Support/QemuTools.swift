import Foundation
import TestSupport
import Testing

/// qemu-img and qemu-io, the tools that check results on disk. A missing tool fails the test: never a skip.
enum QemuTools {
    static func tool(_ name: String) throws -> String {
        try #require(
            ChildProcess.find(name), "\(name) is not installed (Debian package qemu-utils); scripts/test.sh installs it"
        )
    }

    /// Runs qemu-img; expects exit status 0 unless `expecting` says otherwise.
    @discardableResult
    static func img(_ arguments: String..., expecting expected: Int32 = 0) async throws -> String {
        let (status, output) = try await ChildProcess.run(try tool("qemu-img"), arguments)
        try #require(status == expected, "qemu-img \(arguments.joined(separator: " ")) exited \(status): \(output)")
        return output
    }

    /// Runs one qemu-io command on an image (e.g. "write -P 0x5a 0 32M").
    static func io(_ image: String, _ command: String, format: String = "qcow2") async throws {
        let (status, output) = try await ChildProcess.run(try tool("qemu-io"), ["-f", format, "-c", command, image])
        try #require(status == 0 && !output.contains("failed"), "qemu-io \(command) on \(image): \(output)")
    }

    /// A qcow2 image of `size` at `path`, with `pattern` bytes written over the first `filled` bytes.
    static func makeImage(_ path: String, size: String = "64M", filled: String? = nil, pattern: String = "0x5a")
        async throws
    {
        try await img("create", "-f", "qcow2", path, size)
        if let filled { try await io(path, "write -P \(pattern) 0 \(filled)") }
    }

    /// `qemu-img compare`: 0 when the guest-visible contents are identical.
    static func compare(_ first: String, _ second: String) async throws -> (identical: Bool, output: String) {
        let (status, output) = try await ChildProcess.run(try tool("qemu-img"), ["compare", first, second])
        return (status == 0, output)
    }
}
