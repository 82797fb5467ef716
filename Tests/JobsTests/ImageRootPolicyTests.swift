import Foundation
import JSON
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
        #expect(inspections.map(\.image) == [.file(real)])
        #expect(inspections.first?.backing == true && inspections.first?.dataFile == true)
        #expect(inspections.first?.at == [])
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

    /// A minimal qcow2 v2 header (magic, version 2) naming `backing` at offset 72, with no format extension.
    func writeQcow2(_ path: String, backing: String?) {
        var header = [UInt8](repeating: 0, count: 72)
        header[0...3] = [0x51, 0x46, 0x49, 0xfb]
        header[7] = 2
        let name = Array((backing ?? "").utf8)
        if backing != nil {
            header[15] = 72
            header[19] = UInt8(name.count)
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data(header + name))
    }

    @Test("qcow2 headers naming a backing file outside the roots are refused")
    func backingChain() throws {
        writeQcow2(root + "/evil.qcow2", backing: outside + "/secret")
        #expect(throws: JobError.self) {
            try policy.pinningChain(of: root + "/evil.qcow2", backing: true, dataFile: true, field: "file.filename")
        }
        // With an explicit backing the header is not followed.
        #expect(
            try policy.pinningChain(of: root + "/evil.qcow2", backing: false, dataFile: false, field: "f").isEmpty)
        // A plain file names nothing, and gets no backing.
        #expect(
            try policy.pinningChain(of: root + "/a.qcow2", backing: true, dataFile: true, field: "f")
                == ["backing": .null])
    }

    @Test("a chain in the headers becomes explicit nodes, down to a backing: null")
    func pinnedChain() throws {
        writeQcow2(root + "/base.qcow2", backing: nil)
        writeQcow2(root + "/sub/top.qcow2", backing: "../base.qcow2")
        let pins = try policy.pinningChain(of: root + "/sub/top.qcow2", backing: true, dataFile: true, field: "f")
        let expected: JSONValue = [
            "driver": "qcow2", "file": ["driver": "file", "filename": .string(policy.roots[0] + "/base.qcow2")],
            "backing": nil,
        ]
        #expect(pins == ["backing": expected])
    }

    @Test("open walks the real path without following symlinks; a swapped-in symlink is refused")
    func openNoFollow() throws {
        let inside = policy.roots[0]
        let descriptors = try policy.open(inside + "/a.qcow2", field: "f", named: "a.qcow2", intent: .existing)
        #expect(descriptors.count == 2)
        descriptors.forEach { close($0) }
        // Checked as a real path, then replaced by a symlink to a directory outside: the walk refuses it.
        try FileManager.default.removeItem(atPath: root + "/sub")
        try FileManager.default.createSymbolicLink(atPath: root + "/sub", withDestinationPath: outside)
        #expect(throws: JobError.pathOutsideImageRoots(field: "f", path: "sub/new.img")) {
            try policy.open(inside + "/sub/new.img", field: "f", named: "sub/new.img", intent: .create)
        }
        #expect(!FileManager.default.fileExists(atPath: outside + "/new.img"))
        // A dangling symlink as the last component: never created through.
        try FileManager.default.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: outside + "/x")
        #expect(throws: JobError.pathOutsideImageRoots(field: "f", path: "dangling")) {
            try policy.open(inside + "/dangling", field: "f", named: "dangling", intent: .create)
        }
        #expect(!FileManager.default.fileExists(atPath: outside + "/x"))
        // A FIFO: refused at once, nothing blocks.
        #expect(mkfifo(root + "/fifo", 0o600) == 0)
        #expect(throws: JobError.self) {
            try policy.open(inside + "/fifo", field: "f", named: "fifo", intent: .existing)
        }
        // Created with O_EXCL when new, opened when it exists.
        let created = try policy.open(inside + "/new.img", field: "f", named: "new.img", intent: .create)
        #expect(created.count == 1)
        created.forEach { close($0) }
        #expect(FileManager.default.fileExists(atPath: root + "/new.img"))
        let reopened = try policy.open(inside + "/new.img", field: "f", named: "new.img", intent: .create)
        reopened.forEach { close($0) }
    }
}
