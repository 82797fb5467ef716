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
            return .targetTooLong(length: targetLength, limit: targetBytes)
        }
        if headerLength > headerBytes {
            return .headersTooLarge(length: headerLength, limit: headerBytes)
        }
        return nil
    }
}
