import Foundation
import JSON
import JobModel
import Synchronization

/// One QMP connection: a socket, a reader thread that turns lines into `QMPMessage`s, and serialised writes.
///
/// The reader runs on its own `Thread` (blocking `read`), never on the cooperative pool. It hands events to
/// `onEvent` itself, on that thread, and delivers every other message through `messages`, which finishes when the
/// connection closes (after the last event was handed over); each in wire order.
final class QMPConnection: Sendable {
    /// Messages in the order the server sent them; finishes at end of stream or after `close()`.
    let messages: AsyncStream<Result<QMPMessage, QMPError>>
    private let socket: UnixSocket
    private let continuation: AsyncStream<Result<QMPMessage, QMPError>>.Continuation
    /// Guards the descriptor against use after close without a lock held across a send: writers register before
    /// they write and leave after; the descriptor is closed by whoever is last once the reader is done, so a write
    /// can never reach a reused descriptor number.
    private let use: Mutex<Use>

    private struct Use {
        /// False once closed or at end of stream: no new send starts.
        var isOpen = true
        /// Sends (and a close) under way with the descriptor.
        var writers = 0
        /// The reader is done; the last writer to leave closes the descriptor.
        var closeWhenIdle = false
    }
    private let onEvent: @Sendable (QMPEvent) -> Void

    /// Connects to `path` and starts reading.
    /// - Parameter onEvent: called on the reader thread with each event, in order; must not block.
    /// - Throws: `QMPError.connectFailed`.
    init(path: String, onEvent: @escaping @Sendable (QMPEvent) -> Void) throws {
        self.onEvent = onEvent
        let socket = try UnixSocket.connect(path: path)
        self.socket = socket
        self.use = Mutex(Use())
        let (stream, continuation) = AsyncStream.makeStream(of: Result<QMPMessage, QMPError>.self)
        self.messages = stream
        self.continuation = continuation
    }

    /// Starts the reader thread. Call once.
    func start() {
        let thread = Thread { [self] in
            readLoop()
        }
        thread.name = "qmp-reader"
        thread.start()
    }

    /// Sends one command object as a line. Callers serialise their sends (`QMPClient` is an actor), so lines never
    /// interleave; no lock is held while the bytes go out.
    /// - Returns: false if the connection is closed or the write failed.
    /// - Parameter descriptors: passed with the line's first byte (`SCM_RIGHTS`), for QMP's `add-fd`; the caller
    ///   keeps its own copies.
    func send(_ message: JSONValue, passing descriptors: [Int32] = []) -> Bool {
        var bytes = [UInt8](message.serialized())
        bytes.append(UInt8(ascii: "\n"))
        return withDescriptor(closing: false) { socket.writeAll(bytes, passing: descriptors) } ?? false
    }

    /// Closes the connection; the reader thread sees end of stream and finishes `messages`. Idempotent.
    /// `shutdown(2)` does not block, and it makes a send blocked on a full socket return.
    func close() {
        _ = withDescriptor(closing: true) { socket.shutdownBoth() }
    }

    /// Runs `body` with the descriptor guaranteed open, without holding the lock: registers as a user, and the
    /// last user to leave after the reader is done closes the descriptor. `closing`: no user starts after this one.
    /// - Returns: nil if the connection is closed already.
    private func withDescriptor<T>(closing: Bool, _ body: () -> T) -> T? {
        let admitted = use.withLock { use -> Bool in
            guard use.isOpen else { return false }
            use.writers += 1
            if closing { use.isOpen = false }
            return true
        }
        guard admitted else { return nil }
        let result = body()
        let closeNow = use.withLock { use -> Bool in
            use.writers -= 1
            return use.closeWhenIdle && use.writers == 0
        }
        if closeNow { socket.close() }
        return result
    }

    /// At end of stream (on the reader thread): no new send starts; the descriptor is closed now, or by the last
    /// send under way when it leaves.
    private func finishUse() {
        let closeNow = use.withLock { use -> Bool in
            use.isOpen = false
            use.closeWhenIdle = true
            return use.writers == 0
        }
        if closeNow { socket.close() }
    }

    private func readLoop() {
        var pending = [UInt8]()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 1)
        defer {
            buffer.deallocate()
            finishUse()
            continuation.finish()
        }
        while true {
            let count = socket.read(into: buffer)
            if count <= 0 { return }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.allSatisfy({ $0 == 32 || $0 == 13 || $0 == 9 }) { continue }
                do {
                    let message = try QMPMessage(JSONValue.parse(line))
                    if case .event(let event) = message {
                        onEvent(event)
                    } else {
                        continuation.yield(.success(message))
                    }
                } catch let error as QMPError {
                    continuation.yield(.failure(error))
                } catch {
                    continuation.yield(.failure(.protocolViolation("undecodable line: \(error)")))
                }
            }
        }
    }
}
