internal import CMicroHTTPD
import Foundation
import Synchronization

/// A libmicrohttpd connection handle that may cross threads.
///
/// Safe because libmicrohttpd allows `MHD_resume_connection` from any thread, and the box that holds the handle
/// guarantees it is resumed once per suspend and never after the request completed.
struct ConnectionHandle: @unchecked Sendable {
    let raw: OpaquePointer
}

/// The state of one request, hung on libmicrohttpd's `req_cls`: the body as it arrives, then the response once a
/// Swift task produced it.
///
/// Created on the first access-handler call, released in the request-completed callback.
final class ConnectionBox: Sendable {
    enum Phase: Sendable {
        /// Headers seen, body arriving.
        case receiving
        /// Connection suspended; a Swift task is producing the response.
        case waiting
        /// The task finished; queue this on the next access-handler call.
        case ready(Response)
    }

    struct State: Sendable {
        var body = Data()
        var bodyTooLarge = false
        var phase = Phase.receiving
    }

    let connection: ConnectionHandle
    let state = Mutex(State())

    init(connection: ConnectionHandle) {
        self.connection = connection
    }

    /// Appends upload bytes, or drops them once the total passes `limit`.
    func append(_ bytes: UnsafeRawBufferPointer, limit: Int) {
        state.withLock { state in
            guard !state.bodyTooLarge else { return }
            if state.body.count + bytes.count > limit {
                state.bodyTooLarge = true
                state.body = Data()
            } else {
                state.body.append(contentsOf: bytes)
            }
        }
    }

    /// Marks the connection suspended. Called on the libmicrohttpd thread, just before `MHD_suspend_connection`.
    func markWaiting() {
        state.withLock { $0.phase = .waiting }
    }

    /// Stores the response and resumes the connection, so libmicrohttpd calls the access handler again and the
    /// response is queued there. Called from any thread; resumes at most once.
    func complete(with response: Response) {
        let shouldResume = state.withLock { state in
            guard case .waiting = state.phase else { return false }
            state.phase = .ready(response)
            return true
        }
        if shouldResume { MHD_resume_connection(connection.raw) }
    }
}
