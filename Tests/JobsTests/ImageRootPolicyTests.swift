import Foundation
import JobModel
import Jobs
import Testing

/// Confinement of every file name to the image roots, and the driver allow-list.
@Suite final class ImageRootPolicyTests {
    let base: String
    let root: String
    let outside: String
    let policy: ImageRootPolicy

    init() throws {
        base = NSTemporaryDirectory() + "policy-\(UUID().uuidString.prefix(8))"
        root = base + "/images"
        outside = base + "/outside"
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root + "/a.qcow2", contents: Data())
        FileManager.default.createFile(atPath: outside + "/secret", contents: Data())
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: outside + "/secret")
        try FileManager.default.createSymbolicLink(atPath: root + "/dirlink", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: root + "/inner", withDestinationPath: root + "/a.qcow2")
        policy = try ImageRootPolicy(roots: [root])
    }

    deinit {
        try? FileManager.default.removeItem(atPath: base)
    }

    func nodeBody(_ filename: String) -> JSONValue {
        ["node-name": "n", "driver": "qcow2", "file": ["driver": "file", "filename": .string(filename)]]
    }

    @Test("relative names resolve against the first root and are rewritten to the real path")
    func relativeNames() throws {
        let (confined, inspections) = try policy.confine(nodeBody("a.qcow2"))
        let real = policy.roots[0] + "/a.qcow2"
        #expect(confined["file"]?["filename"] == .string(real))
        #expect(inspections == [.file(real, backing: true, dataFile: true)])
        #expect(try policy.resolve("sub/new.qcow2", field: "f") == policy.roots[0] + "/sub/new.qcow2")
        #expect(try policy.resolve("inner", field: "f") == real)
    }

    @Test(
        "names outside the roots are refused",
        arguments: [
            "/etc/passwd", "../outside/secret", "link", "dirlink/secret", "sub/../../outside/secret",
            "json:{\"driver\":\"file\",\"filename\":\"/etc/passwd\"}", "nbd:127.0.0.1:10809", "", "dirlink/new.img",
        ])
    func outsideRefused(name: String) {
        #expect(throws: JobError.self) { try policy.confine(nodeBody(name)) }
    }

    @Test("drivers off the allow-list are refused at any depth; the refusal names the field")
    func drivers() {
        #expect(
            throws: JobError.driverNotAllowed(
                field: "driver", driver: "vvfat", allowed: ["file", "null-co", "qcow2", "raw"])
        ) {
            try policy.confine(["node-name": "n", "driver": "vvfat"])
        }
        #expect(
            throws: JobError.driverNotAllowed(
                field: "file.driver", driver: "nbd", allowed: ["file", "null-co", "qcow2", "raw"])
        ) {
            try policy.confine(["node-name": "n", "driver": "raw", "file": ["driver": "nbd"]])
        }
        let custom = try? ImageRootPolicy(roots: [root], allowedDrivers: ["blkdebug", "file"])
        #expect(throws: JobError.self) {
            try custom?.confine([
                "driver": "blkdebug", "config": "/etc/passwd", "image": ["driver": "file", "filename": "a.qcow2"],
            ])
        }
    }

    @Test("a json: string anywhere is refused")
    func jsonAnywhere() {
        #expect(throws: JobError.self) { try policy.confine(["driver": "qcow2", "backing": "json:{}"]) }
    }

    @Test("qcow2 headers naming a backing file outside the roots are refused")
    func backingChain() throws {
        // A minimal qcow2 v2 header: magic, version 2, backing file name at offset 72.
        let name = Array((outside + "/secret").utf8)
        var header = [UInt8](repeating: 0, count: 72)
        header[0...3] = [0x51, 0x46, 0x49, 0xfb]
        header[7] = 2
        header[15] = 72
        header[19] = UInt8(name.count)
        FileManager.default.createFile(atPath: root + "/evil.qcow2", contents: Data(header + name))
        #expect(throws: JobError.self) {
            try policy.inspectImage(at: root + "/evil.qcow2", backing: true, dataFile: true, field: "file.filename")
        }
        // With an explicit backing the header is not followed.
        try policy.inspectImage(at: root + "/evil.qcow2", backing: false, dataFile: false, field: "file.filename")
        // A plain file names nothing.
        try policy.inspectImage(at: root + "/a.qcow2", backing: true, dataFile: true, field: "file.filename")
    }
}
