import Foundation
import JSON
import JobModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A server-sent events client for tests, on a raw socket: one thread reads, de-chunks and parses the stream
/// (`id:`, `event:`, `data:`, `retry:` and comment lines) while the test looks at what arrived. It can stop
/// reading (`pause`) to play a stuck subscriber, and shrink its receive buffer so that shows quickly.
public final class SSEClient: Sendable {
    /// One dispatched event.
    public struct Event: Sendable, Equatable {
        public var id: String?
        public var name: String
        public var data: String
        public var json: JSONValue? { try? JSONValue.parse(Data(data.utf8)) }
        /// The job an event is about: `id`, or `device` for most `BLOCK_JOB_*` events.
        public var job: String? { json?["id"]?.stringValue ?? json?["device"]?.stringValue }
    }

    struct State {
        var status: Int?
        var headers: [String: String] = [:]
        var events: [Event] = []
        var comments = 0
        var retry: Int?
        /// The server ended the stream (or closed the connection).
        var ended = false
        var paused = false
        var closing = false
    }

    private let state = Mutex(State())
    private let descriptor: Int32

    /// Connects and sends `GET path` with `headers`.
    /// - Parameter receiveBuffer: SO_RCVBUF to set before connecting (small: a stuck client is noticed early).
    public init(port: UInt16, path: String, headers: [String: String] = [:], receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let thread = Thread { [self] in readLoop() }
        thread.start()
    }

    deinit {
        Glibc.close(descriptor)
    }

    public var status: Int? { state.withLock { $0.status } }
    public var events: [Event] { state.withLock { $0.events } }
    public var comments: Int { state.withLock { $0.comments } }
    public var retry: Int? { state.withLock { $0.retry } }
    public var ended: Bool { state.withLock { $0.ended } }
    public func header(_ name: String) -> String? { state.withLock { $0.headers[name.lowercased()] } }

    /// Stops reading from the socket (the server's writes then back up), until `resume`.
    public func pause() { state.withLock { $0.paused = true } }
    public func resume() { state.withLock { $0.paused = false } }

    /// Stops reading and closes the connection.
    public func close() {
        state.withLock { $0.closing = true }
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Waits until `condition` holds for the events received (or the timeout passes).
    /// - Returns: whether it held.
    public func wait(timeout: Duration = .seconds(30), until condition: @escaping ([Event]) -> Bool) async -> Bool {
        await eventually(timeout: timeout, interval: .milliseconds(20)) { condition(events) }
    }

    private func readLoop() {
        var parser = StreamParser()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let (paused, closing) = state.withLock { ($0.paused, $0.closing) }
            if closing { break }
            if paused {
                usleep(20_000)
                continue
            }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { break }
            guard count > 0 else { continue }
            let output = parser.feed(buffer[0..<count])
            state.withLock { state in
                if let head = output.head {
                    state.status = head.status
                    state.headers = head.headers
                }
                state.events += output.events
                state.comments += output.comments
                if let retry = output.retry { state.retry = retry }
                if output.finished { state.ended = true }
            }
            if output.finished { break }
        }
        state.withLock { $0.ended = true }
    }
}

/// The byte-level parsing of `SSEClient`: HTTP head, chunked body, event stream.
struct StreamParser {
    struct Output {
        var head: (status: Int, headers: [String: String])?
        var events: [SSEClient.Event] = []
        var comments = 0
        var retry: Int?
        var finished = false
    }

    private var raw: [UInt8] = []
    private var headDone = false
    private var chunked = false
    private var body: [UInt8] = []
    private var event = SSEClient.Event(id: nil, name: "message", data: "")
    private var hasData = false

    mutating func feed(_ bytes: ArraySlice<UInt8>) -> Output {
        var output = Output()
        raw += bytes
        if !headDone {
            guard let end = raw.firstRange(of: Array("\r\n\r\n".utf8)) else { return output }
            let lines = String(decoding: raw[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
            output.head = (status, headers)
            chunked = headers["transfer-encoding"]?.lowercased() == "chunked"
            raw.removeSubrange(..<end.upperBound)
            headDone = true
        }
        if chunked {
            while let lineEnd = raw.firstRange(of: Array("\r\n".utf8)) {
                guard let size = Int(String(decoding: raw[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) else {
                    output.finished = true
                    return output
                }
                if size == 0 {
                    output.finished = true
                    break
                }
                guard raw.count >= lineEnd.upperBound + size + 2 else { break }
                body += raw[lineEnd.upperBound..<(lineEnd.upperBound + size)]
                raw.removeSubrange(..<(lineEnd.upperBound + size + 2))
            }
        } else {
            body += raw
            raw.removeAll()
        }
        while let newline = body.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: body[..<newline], as: UTF8.self)
            body.removeSubrange(...newline)
            parseLine(line, into: &output)
        }
        return output
    }

    private mutating func parseLine(_ line: String, into output: inout Output) {
        if line.isEmpty {
            if hasData { output.events.append(event) }
            event = SSEClient.Event(id: event.id, name: "message", data: "")
            hasData = false
            return
        }
        if line.hasPrefix(":") {
            output.comments += 1
            return
        }
        let field = line.prefix { $0 != ":" }
        var value = line.dropFirst(field.count)
        if value.hasPrefix(":") { value = value.dropFirst() }
        if value.hasPrefix(" ") { value = value.dropFirst() }
        switch field {
        case "id": event.id = String(value)
        case "event": event.name = String(value)
        case "data":
            event.data += hasData ? "\n" + value : String(value)
            hasData = true
        case "retry": output.retry = Int(value)
        default: break
        }
    }
}
