import Foundation
import JSON
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Headless Chromium through chromedriver's W3C WebDriver endpoint, enough to load a page and run scripts in it.
/// Debian's `chromium` and `chromium-driver`; a missing one fails the test.
final class WebDriver: Sendable {
    let driver: ChildProcess
    let port: UInt16
    let session: String

    /// - Parameter browserArguments: more Chromium switches (e.g. `--host-resolver-rules`).
    static func start(browserArguments: [String] = []) async throws -> WebDriver {
        let chromedriver = try #require(
            ChildProcess.find("chromedriver"), "chromedriver is not installed (chromium-driver; scripts/deps.sh)")
        let chromium = try #require(ChildProcess.find("chromium"), "chromium is not installed (scripts/deps.sh)")
        let port = UInt16.random(in: 20_000..<40_000)
        let driver = try ChildProcess(
            chromedriver, ["--port=\(port)"], outputPath: NSTemporaryDirectory() + "chromedriver-\(port).log")
        let up = await eventually(timeout: .seconds(10)) {
            (try? await Self.call(port, "GET", "/status").status) == 200
        }
        try #require(up, "chromedriver did not answer: \(driver.output)")
        let switches =
            ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
            + browserArguments
        let options: JSONValue = [
            "browserName": "chrome", "goog:loggingPrefs": ["browser": "ALL"],
            "goog:chromeOptions": ["binary": .string(chromium), "args": .array(switches.map(JSONValue.string))],
        ]
        let capabilities = String(
            decoding: JSONValue.object(["capabilities": ["alwaysMatch": options]]).serialized(), as: UTF8.self)
        let answer = try await call(port, "POST", "/session", capabilities)
        let session = try #require(answer.json["value"]?["sessionId"]?.stringValue, "no session: \(answer.json)")
        _ = try await call(port, "POST", "/session/\(session)/timeouts", #"{"script":30000}"#)
        return WebDriver(driver: driver, port: port, session: session)
    }

    private init(driver: ChildProcess, port: UInt16, session: String) {
        self.driver = driver
        self.port = port
        self.session = session
    }

    /// One WebDriver call over a fresh connection, on a thread of its own (chromedriver's header lines have no
    /// space after the colon, which Foundation's HTTP client on Linux refuses).
    static func call(_ port: UInt16, _ method: String, _ path: String, _ body: String = "") async throws -> (
        status: Int, json: JSONValue
    ) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                guard let socket = TCP.connect(to: port) else {
                    continuation.resume(throwing: POSIXError(.ECONNREFUSED))
                    return
                }
                defer { close(socket) }
                let request =
                    "\(method) \(path) HTTP/1.1\r\nHost: localhost:\(port)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                let bytes = Array(request.utf8)
                _ = bytes.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                // chromedriver may keep the connection open: read the headers, then Content-Length bytes.
                var response = [UInt8]()
                var buffer = [UInt8](repeating: 0, count: 65_536)
                var expected: Int?
                var headerEnd = 0
                while expected.map({ response.count < headerEnd + $0 }) ?? true {
                    let count = recv(socket, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    response += buffer[0..<count]
                    if expected == nil, let end = response.firstRange(of: Array("\r\n\r\n".utf8)) {
                        headerEnd = end.upperBound
                        let head = String(decoding: response[..<end.lowerBound], as: UTF8.self).lowercased()
                        let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        expected =
                            length.flatMap {
                                Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                            } ?? 0
                    }
                }
                let text = String(decoding: response, as: UTF8.self)
                let status = Int(text.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
                let payload = String(decoding: response[min(headerEnd, response.count)...], as: UTF8.self)
                continuation.resume(returning: (status, (try? JSONValue.parse(Data(payload.utf8))) ?? .null))
            }.start()
        }
    }

    func open(_ url: String) async throws {
        let answer = try await Self.call(port, "POST", "/session/\(session)/url", #"{"url":"\#(url)"}"#)
        try #require(answer.status == 200, "navigating to \(url): \(answer.json)")
    }

    /// Runs `script` as an async function body (`await` allowed); its return value comes back as JSON.
    func run(_ script: String) async throws -> JSONValue {
        let wrapped =
            "const done = arguments[arguments.length - 1]; (async () => { \(script) })().then(done, e => done({thrown: String(e)}));"
        let body = JSONValue.object(["script": .string(wrapped), "args": .array([])]).serialized()
        let answer = try await Self.call(
            port, "POST", "/session/\(session)/execute/async", String(decoding: body, as: UTF8.self))
        try #require(answer.status == 200, "script failed: \(answer.json)")
        return answer.json["value"] ?? .null
    }

    /// Saves a PNG of the window, `width` x `height` CSS pixels, to `path`.
    func screenshot(to path: String, width: Int = 1280, height: Int = 800) async throws {
        _ = try await Self.call(
            port, "POST", "/session/\(session)/window/rect", #"{"width":\#(width),"height":\#(height)}"#)
        let answer = try await Self.call(port, "GET", "/session/\(session)/screenshot")
        let encoded = try #require(answer.json["value"]?.stringValue, "no screenshot: \(answer.json)")
        let png = try #require(Data(base64Encoded: encoded), "the screenshot is not base64")
        try png.write(to: URL(fileURLWithPath: path))
    }

    /// The browser console since the last call.
    func consoleLog() async throws -> [JSONValue] {
        try await Self.call(port, "POST", "/session/\(session)/se/log", #"{"type":"browser"}"#).json["value"]?
            .arrayValue ?? []
    }

    func quit() async {
        _ = try? await Self.call(port, "DELETE", "/session/\(session)")
        driver.signal(SIGTERM)
        _ = await driver.wait(timeout: .seconds(5))
    }
}
