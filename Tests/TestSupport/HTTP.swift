import Foundation
import JSON
import JobModel

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A small HTTP client for tests.
public struct HTTP: Sendable {
    /// One answer.
    public struct Result: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        /// The body parsed as JSON, if it is JSON.
        public var json: JSONValue? { try? JSONValue.parse(body) }
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    public let base: URL
    private let session: URLSession

    public init(base: URL) {
        self.base = base
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        session = URLSession(configuration: configuration)
    }

    /// Sends `method path` with an optional body.
    public func send(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:])
        async throws
        -> Result
    {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers["\(key)"] = "\(value)" }
        return Result(status: http.statusCode, headers: headers, body: data)
    }

    public func get(_ path: String) async throws -> Result { try await send("GET", path) }

    public func post(_ path: String, _ body: String? = nil) async throws -> Result {
        try await send("POST", path, body: body)
    }

    /// Writes `raw` bytes on a fresh TCP connection to `port` and returns everything the server sends until it
    /// closes (or `timeout`): for requests URLSession will not make (a Content-Length with no body, ...).
    public static func raw(port: UInt16, _ raw: [UInt8], timeout: Double = 10) -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return "" }
        var offset = 0
        while offset < raw.count {
            let sent = raw.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { break }
            offset += sent
        }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            answer.append(contentsOf: buffer[0..<count])
            if let text = String(bytes: answer, encoding: .utf8), text.contains("\r\n\r\n"), text.hasSuffix("}\n") {
                break
            }
        }
        return String(decoding: answer, as: UTF8.self)
    }
}

/// Polls `condition` every `interval` until it holds or `timeout` passes.
/// - Returns: whether it held.
public func eventually(
    timeout: Duration = .seconds(30), interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
