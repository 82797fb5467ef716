import Foundation
import JSON
import JobModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A QMP server on a UNIX socket for tests: greets, negotiates, and answers commands the way the test says,
/// including holding a reply back until the test releases it (to show that nothing waits on QMP).
public final class FakeQMPServer: Sendable {
    /// How to answer one command.
    public enum Reply: Sendable {
        case value(JSONValue)
        case error(errorClass: String, description: String)
        /// Answer with `value` only after `release()`.
        case hold(JSONValue)
        /// Never answer.
        case ignore
    }

    public let socketPath: String
    private let listener: Int32
    private let answer: @Sendable (String, JSONValue?) -> Reply
    private struct State {
        var received: [String] = []
        var held: [(Int32, JSONValue)] = []
        var released = false
        var clients: [Int32] = []
    }
    private let state = Mutex(State())

    /// Starts listening at `socketPath` with `answer` deciding each reply (`qmp_capabilities` is answered for it).
    public init(
        socketPath: String, version: (Int, Int, Int) = (7, 2, 22),
        answer: @escaping @Sendable (String, JSONValue?) -> Reply
    ) throws {
        self.socketPath = socketPath
        self.answer = answer
        unlink(socketPath)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: socketPath.utf8)
            buffer[socketPath.utf8.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 8) == 0 else {
            throw NSError(
                domain: "FakeQMPServer", code: Int(errno),
                userInfo: [NSLocalizedDescriptionKey: "bind \(socketPath) failed"])
        }
        let greeting: JSONValue = [
            "QMP": [
                "version": [
                    "qemu": [
                        "major": .int(Int64(version.0)), "minor": .int(Int64(version.1)),
                        "micro": .int(Int64(version.2)),
                    ], "package": "fake",
                ], "capabilities": [],
            ]
        ]
        let thread = Thread { [self] in acceptLoop(greeting: greeting) }
        thread.start()
    }

    /// The commands received so far, in order.
    public var received: [String] { state.withLock { $0.received } }

    /// Sends every held reply, and answers later `.hold` commands at once.
    public func release() {
        let held = state.withLock { state -> [(Int32, JSONValue)] in
            state.released = true
            defer { state.held = [] }
            return state.held
        }
        for (client, message) in held { send(message, to: client) }
    }

    /// Stops accepting and closes every client.
    public func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        for client in state.withLock({ $0.clients }) { shutdown(client, Int32(SHUT_RDWR)) }
        unlink(socketPath)
    }

    private func acceptLoop(greeting: JSONValue) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            state.withLock { $0.clients.append(client) }
            send(greeting, to: client)
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    private func serve(_ client: Int32) {
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { Glibc.close(client); return }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: 10) {
                let line = Data(pending[..<newline])
                pending.removeSubrange(...newline)
                guard let message = try? JSONValue.parse(line), let command = message["execute"]?.stringValue else {
                    continue
                }
                let id = message["id"] ?? .null
                state.withLock { $0.received.append(command) }
                let reply: Reply = command == "qmp_capabilities" ? .value([:]) : answer(command, message["arguments"])
                switch reply {
                case .value(let value):
                    send(["return": value, "id": id], to: client)
                case .error(let errorClass, let description):
                    send(
                        ["error": ["class": .string(errorClass), "desc": .string(description)], "id": id], to: client)
                case .hold(let value):
                    let message: JSONValue = ["return": value, "id": id]
                    let sendNow = state.withLock { state in
                        if !state.released { state.held.append((client, message)) }
                        return state.released
                    }
                    if sendNow { send(message, to: client) }
                case .ignore:
                    break
                }
            }
        }
    }

    private func send(_ message: JSONValue, to client: Int32) {
        var bytes = [UInt8](message.serialized())
        bytes.append(10)
        _ = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
