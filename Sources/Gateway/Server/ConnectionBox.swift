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
        /// The body did not fit the budget of all connections' bodies (503); it is dropped as it arrives.
        var overBudget = false
        var phase = Phase.receiving
    }

    let connection: ConnectionHandle
    let state = Mutex(State())
    private let budget: BodyBudget

    init(connection: ConnectionHandle, budget: BodyBudget) {
        self.connection = connection
        self.budget = budget
    }

    deinit {
        budget.release(state.withLock { $0.body.count })
    }

    /// Appends upload bytes, or drops them once the total passes `limit`, or once all connections' bodies would
    /// pass the budget.
    /// - Returns: false once the body is past `limit` (the request cannot be served).
    func append(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Bool {
        state.withLock { state in
            guard !state.bodyTooLarge else { return false }
            guard !state.overBudget else { return true }
            if state.body.count + bytes.count > limit {
                state.bodyTooLarge = true
            } else if !budget.reserve(bytes.count) {
                state.overBudget = true
            } else {
                state.body.append(contentsOf: bytes)
                return true
            }
            budget.release(state.body.count)
            state.body = Data()
            return !state.bodyTooLarge
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
