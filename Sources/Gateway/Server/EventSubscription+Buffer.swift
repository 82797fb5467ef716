import Foundation
import Jobs

extension EventSubscription {
    /// Fills `buffer` (libmicrohttpd's, for a streamed response) with the next bytes of the stream (`read(sink:)`):
    /// as many as fit, an event possibly split across reads. Called on the libmicrohttpd thread serving the stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer, suspend: () -> Void) -> ReadResult {
        var filled = 0
        return read { data, offset in
            let count = min(data.count - offset, buffer.count - filled)
            guard count > 0 else { return 0 }
            data.withUnsafeBytes { source in
                // Safe: both ranges were bounded above.
                buffer.baseAddress!.advanced(by: filled).copyMemory(
                    from: source.baseAddress!.advanced(by: offset), byteCount: count)
            }
            filled += count
            return count
        } suspend: {
            suspend()
        }
    }
}
