import Foundation

/// How the transport that serves event streams writes what the hub sends. The hub encodes each event once, when it
/// is appended, and every subscriber is sent the same bytes; the gateway gives it its server-sent events encoding
/// (`Gateway.ServerSentEvents`), so Jobs knows events, not their wire form.
public protocol EventEncoding: Sendable {
    /// One event as it goes on the wire, complete (a reader may split it across writes).
    func encode(_ event: JobEvent) -> Data
    /// The reconnection delay a stream starts with.
    func retry(milliseconds: Int) -> Data
    /// What keeps a silent stream alive, and lets a write find a peer that is gone.
    func heartbeat() -> Data
}
