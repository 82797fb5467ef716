/// jobgate's own limits on a request's target and header fields, checked when libmicrohttpd has read the headers and
/// before anything else, so that what is too large gets a problem document rather than libmicrohttpd's text page
/// (which it still sends beyond its connection memory, `MicroHTTPDServer.connectionMemory`). Pure; called on a
/// libmicrohttpd thread.
enum RequestLimits {
    /// The longest request target (path and query, as received), in bytes.
    static let targetBytes = 8 << 10
    /// The most bytes of header fields (names and values) a request may carry.
    static let headerBytes = 16 << 10

    /// 414 or 431 for a request over the limits, or nil.
    static func problem(target: String, headerBytes headerLength: Int) -> Problem? {
        let targetLength = target.utf8.count
        if targetLength > targetBytes {
            return Problem(
                "target-too-long", title: "Request target too long", status: 414,
                detail: "the request target is \(targetLength) bytes long; jobgate takes at most \(targetBytes)",
                extensions: ["limit": .int(Int64(targetBytes))])
        }
        if headerLength > headerBytes {
            return Problem(
                "headers-too-large", title: "Request header fields too large", status: 431,
                detail: "the request's header fields hold \(headerLength) bytes; jobgate takes at most \(headerBytes)",
                extensions: ["limit": .int(Int64(headerBytes))])
        }
        return nil
    }
}
