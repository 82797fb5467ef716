internal import CMicroHTTPD
import Foundation
import Jobs
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a streamed response's reader reaches through its `cls` pointer: the subscription and its connection.
/// Retained by the response; released in `cmhdStreamFree` when libmicrohttpd drops the response.
final class EventStreamBox: Sendable {
    let subscription: EventSubscription
    let connection: ConnectionHandle
    /// The server's count of suspended connections, and whether this one is suspended (set by the reader that
    /// suspends it, cleared by the reader libmicrohttpd calls after the resume; the readers of one connection
    /// never run at the same time).
    let suspensions: ConnectionCount
    let isSuspended = Atomic(false)
    /// The server's count of stream responses it holds; this one leaves it when freed.
    let streaming: ConnectionCount

    init(
        subscription: EventSubscription, connection: ConnectionHandle, suspensions: ConnectionCount,
        streaming: ConnectionCount
    ) {
        self.subscription = subscription
        self.connection = connection
        self.suspensions = suspensions
        self.streaming = streaming
    }
}

/// The kernel send buffer of an event stream: small, so that a client that stops reading is noticed by the
/// subscription's queue limit instead of hiding megabytes in the kernel.
private let streamSendBufferBytes: Int32 = 32 * 1024

/// Queues `response` as a server-sent event stream of unknown length (chunked) read from `stream`.
func queueStream(
    _ stream: EventSubscription, _ response: Response, on connection: OpaquePointer, suspended: ConnectionCount,
    streaming: ConnectionCount
) -> MHD_Result {
    let handle = ConnectionHandle(raw: connection)
    // Safe because libmicrohttpd allows resuming from any thread, and the hub wakes only a suspended reader
    // whose subscription is still registered (the free callback cancels it first).
    stream.attach { MHD_resume_connection(handle.raw) }
    let box = Unmanaged.passRetained(
        EventStreamBox(subscription: stream, connection: handle, suspensions: suspended, streaming: streaming)
    ).toOpaque()
    guard
        let mhdResponse = MHD_create_response_from_callback(
            UInt64.max, 16 * 1024, cmhdStreamRead, box, cmhdStreamFree)
    else {
        stream.cancel()
        Unmanaged<EventStreamBox>.fromOpaque(box).release()
        return .NO
    }
    streaming.add()
    for (name, value) in response.headers {
        _ = MHD_add_response_header(mhdResponse, name, value)
    }
    let socket = cmhd_connection_fd(connection)
    if socket >= 0 {
        var size = streamSendBufferBytes
        setsockopt(socket, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}

/// The content reader: the next bytes of the stream, or a suspension until there are some (returning 0 without
/// suspending would make libmicrohttpd spin), or the end.
func cmhdStreamRead(
    _ cls: UnsafeMutableRawPointer?, _ position: UInt64, _ buffer: UnsafeMutablePointer<CChar>?, _ max: Int
)
    -> Int
{
    guard let cls, let buffer, max > 0 else { return MHD_CONTENT_READER_END_OF_STREAM }
    // Safe because the box stays retained until cmhdStreamFree.
    let box = Unmanaged<EventStreamBox>.fromOpaque(cls).takeUnretainedValue()
    if box.isSuspended.exchange(false, ordering: .acquiringAndReleasing) { box.suspensions.remove() }
    let result = box.subscription.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: max)) {
        box.isSuspended.store(true, ordering: .releasing)
        box.suspensions.add()
        MHD_suspend_connection(box.connection.raw)
    }
    switch result {
    case .bytes(let count): return count
    case .suspended: return 0
    case .ended: return MHD_CONTENT_READER_END_OF_STREAM
    }
}

/// Called once when libmicrohttpd drops the response (the connection closed, or the stream ended): the
/// subscription is cancelled before the box goes, so the hub never wakes a connection that is gone.
func cmhdStreamFree(_ cls: UnsafeMutableRawPointer?) {
    guard let cls else { return }
    let box = Unmanaged<EventStreamBox>.fromOpaque(cls).takeRetainedValue()
    box.subscription.cancel()
    box.streaming.remove()
}
