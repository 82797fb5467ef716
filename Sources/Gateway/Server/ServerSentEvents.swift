import Foundation
import Jobs

/// The wire form of `GET /events` and `GET /jobs/{id}/events` (text/event-stream, WHATWG HTML "Server-sent
/// events"): each event as `id:`, `event:` and `data:` lines (the data one line of JSON) and the blank line that
/// ends it; `retry:` once at the start; a comment line as the heartbeat. The event hub encodes each event once with
/// it, for every subscriber.
public struct ServerSentEvents: EventEncoding {
    public init() {}

    public func encode(_ event: JobEvent) -> Data {
        var frame = Data("id: \(event.id)\nevent: \(event.name)\ndata: ".utf8)
        frame.append(event.data.serialized())
        frame.append(contentsOf: Array("\n\n".utf8))
        return frame
    }

    public func retry(milliseconds: Int) -> Data {
        Data("retry: \(milliseconds)\n\n".utf8)
    }

    public func heartbeat() -> Data {
        Data(": heartbeat\n\n".utf8)
    }
}
