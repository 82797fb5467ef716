internal import CMicroHTTPD
import Foundation

// libmicrohttpd's callbacks, as plain global functions (never closures in main-actor code: Swift 6 would insert
// an isolation check that aborts when a libmicrohttpd thread calls them).

/// The access handler. Called on a libmicrohttpd thread, several times per request; must not block.
///
/// 1st call: hang a `ConnectionBox` on `req_cls` (responding here would cost keep-alive in 0.9.75), or answer 413
/// at once when `Content-Length` is over the limit. Calls with upload data: collect it. Final call: route; an
/// immediate route is answered now, a deferred one suspends the connection until its task resumes it. The call
/// after a resume queues the stored response.
func cmhdAccessHandler(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
    _ uploadDataSize: UnsafeMutablePointer<Int>?, _ requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let requestContext, let uploadDataSize else { return .NO }
    // Safe because the server context is retained for the daemon's lifetime (released after MHD_stop_daemon).
    let server = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()

    guard let boxPointer = requestContext.pointee else {
        let target = String(cString: url!)
        if let problem = RequestLimits.problem(target: target, headerBytes: headerBytes(connection)) {
            return queue(problem.response(instance: String(target.prefix(256))), on: connection, server: server)
        }
        if let length = lookupHeader(connection, "Content-Length").flatMap(Int.init), length > server.bodyLimit {
            return queue(
                Problem.bodyTooLarge(limit: server.bodyLimit).response(instance: String(cString: url!)), on: connection,
                server: server)
        }
        let box = ConnectionBox(connection: ConnectionHandle(raw: connection), budget: server.bodyBudget)
        requestContext.pointee = Unmanaged.passRetained(box).toOpaque()
        return .YES
    }
    // Safe because the box stays retained until the request-completed callback releases it.
    let box = Unmanaged<ConnectionBox>.fromOpaque(boxPointer).takeUnretainedValue()

    if uploadDataSize.pointee > 0 {
        let fits = box.append(
            UnsafeRawBufferPointer(start: uploadData, count: uploadDataSize.pointee), limit: server.bodyLimit)
        uploadDataSize.pointee = 0
        // A body past the limit without a Content-Length (chunked; one with it was refused on the first call):
        // libmicrohttpd 0.9.75 takes no response while a body arrives, so the connection is closed now rather than
        // the rest read only to answer 413.
        return fits ? .YES : .NO
    }

    let (phase, body, tooLarge, overBudget) = box.state.withLock {
        ($0.phase, $0.body, $0.bodyTooLarge, $0.overBudget)
    }
    switch phase {
    case .ready(let response):
        server.suspended.remove()
        return queue(response, on: connection, server: server)
    case .waiting:
        return .YES
    case .receiving:
        server.connections.requestReceived(registryKey(connection))
        let rawPath = String(cString: url!)
        if let problem = RequestTarget.problem(path: rawPath) {
            return queue(problem.response(instance: rawPath), on: connection, server: server)
        }
        let path = RequestTarget.decoded(path: rawPath)
        let rawQuery = values(connection, .GET_ARGUMENT_KIND)
        if let problem = RequestTarget.problem(query: rawQuery) {
            return queue(problem.response(instance: path), on: connection, server: server)
        }
        let query = RequestTarget.decoded(query: rawQuery)
        if tooLarge {
            return queue(
                Problem.bodyTooLarge(limit: server.bodyLimit).response(instance: path), on: connection, server: server)
        }
        if overBudget {
            return queue(
                Problem.serverBusy(budget: server.bodyBudget.limit).response(instance: path), on: connection,
                server: server)
        }
        let request = Request(
            method: String(cString: method!), path: path, query: query,
            headers: values(connection, .HEADER_KIND), body: body)
        switch server.responder.handle(request) {
        case .ready(let response):
            return queue(response, on: connection, server: server)
        case .deferred(let work):
            box.markWaiting()
            server.suspended.add()
            MHD_suspend_connection(connection)
            server.submit(DeferredRequest(box: box, work: work))
            return .YES
        }
    }
}

/// Releases the request's box. Called by libmicrohttpd when a request ends, also for aborted ones.
func cmhdRequestCompleted(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ code: MHD_RequestTerminationCode
) {
    if let cls, let connection {
        // Safe because the server context is retained for the daemon's lifetime (released after MHD_stop_daemon).
        let server = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
        server.connections.requestCompleted(registryKey(connection))
    }
    guard let requestContext, let pointer = requestContext.pointee else { return }
    Unmanaged<ConnectionBox>.fromOpaque(pointer).release()
    requestContext.pointee = nil
}

private func queue(_ response: Response, on connection: OpaquePointer, server: ServerContext) -> MHD_Result {
    if let stream = response.stream {
        return queueStream(
            stream, response, on: connection, suspended: server.suspended, streaming: server.streaming)
    }
    var body = response.body
    let mhdResponse = body.withUnsafeMutableBytes { bytes in
        MHD_create_response_from_buffer(bytes.count, bytes.baseAddress, .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else { return .NO }
    for (name, value) in response.headers {
        _ = MHD_add_response_header(mhdResponse, name, value)
    }
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}

private func lookupHeader(_ connection: OpaquePointer, _ name: String) -> String? {
    MHD_lookup_connection_value(connection, .HEADER_KIND, name).map { String(cString: $0) }
}

/// Collects key/value pairs during `MHD_get_connection_values`; lives only for that call.
private final class ValueCollector {
    var values: [String: String] = [:]
    let lowercaseKeys: Bool
    init(lowercaseKeys: Bool) { self.lowercaseKeys = lowercaseKeys }
}

/// The bytes of the request's header field names and values, counted without copying them.
private func headerBytes(_ connection: OpaquePointer) -> Int {
    var total = 0
    withUnsafeMutablePointer(to: &total) { pointer in
        _ = MHD_get_connection_values(connection, .HEADER_KIND, cmhdCountValue, pointer)
    }
    return total
}

private func cmhdCountValue(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let total = cls?.assumingMemoryBound(to: Int.self) else { return .YES }
    total.pointee += (key.map { strlen($0) } ?? 0) + (value.map { strlen($0) } ?? 0)
    return .YES
}

private func values(_ connection: OpaquePointer, _ kind: MHD_ValueKind) -> [String: String] {
    let collector = ValueCollector(lowercaseKeys: kind == .HEADER_KIND)
    // Safe because the collector outlives the synchronous iteration (withExtendedLifetime).
    withExtendedLifetime(collector) {
        _ = MHD_get_connection_values(
            connection, kind, cmhdCollectValue, Unmanaged.passUnretained(collector).toOpaque())
    }
    return collector.values
}

private func cmhdCollectValue(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let collector = Unmanaged<ValueCollector>.fromOpaque(cls).takeUnretainedValue()
    let name = String(cString: key)
    collector.values[collector.lowercaseKeys ? name.lowercased() : name] = value.map { String(cString: $0) } ?? ""
    return .YES
}

/// The accept policy: a new connection beyond jobgate's connection limit is refused (libmicrohttpd closes it at
/// once). Called on a libmicrohttpd thread.
func cmhdAcceptPolicy(_ cls: UnsafeMutableRawPointer?, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t)
    -> MHD_Result
{
    guard let cls else { return .YES }
    // Safe because the server context is retained for the daemon's lifetime (released after MHD_stop_daemon).
    let server = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    return server.connections.hasRoom ? .YES : .NO
}

/// Connection notifications: registers and forgets connections (`ConnectionRegistry`). Called on a libmicrohttpd
/// thread; for `CLOSED`, before libmicrohttpd closes the socket.
func cmhdNotifyConnection(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ code: MHD_ConnectionNotificationCode
) {
    guard let cls, let connection else { return }
    // Safe because the server context is retained for the daemon's lifetime (released after MHD_stop_daemon).
    let server = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    let key = registryKey(connection)
    switch code {
    case .CONNECTION_NOTIFY_STARTED:
        server.connections.opened(key, socket: cmhd_connection_fd(connection))
    case .CONNECTION_NOTIFY_CLOSED:
        server.connections.closed(key)
    default:
        break
    }
}

/// A connection's key in the `ConnectionRegistry`: its address, stable while libmicrohttpd keeps it.
private func registryKey(_ connection: OpaquePointer) -> UInt {
    UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
}
