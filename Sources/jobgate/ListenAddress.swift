import ArgumentParser

/// `--listen HOST:PORT`: an IPv4 literal, `[IPv6]` literal, or `localhost` (IPv4 loopback), and a port.
struct ListenAddress: Equatable {
    var host: String
    var port: UInt16

    init(_ text: String) throws {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[close...].dropFirst().drop { $0 == ":" }
        } else if let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        } else {
            throw ValidationError("--listen must be HOST:PORT, got '\(text)'")
        }
        guard let port = UInt16(portPart) else { throw ValidationError("--listen has no valid port in '\(text)'") }
        host = hostPart == "localhost" ? "127.0.0.1" : String(hostPart)
        self.port = port
    }

    /// The host as it appears in a URL.
    var urlHost: String { host.contains(":") ? "[\(host)]" : host }
}
