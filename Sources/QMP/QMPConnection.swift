import Foundation
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
    /// Guards the descriptor against use after close: false once closed. Only the reader thread closes the
    /// descriptor, under this lock, so a write can never reach a reused descriptor number.
    private let open: Mutex<Bool>
    private let onEvent: @Sendable (QMPEvent) -> Void

    /// Connects to `path` and starts reading.
    /// - Parameter onEvent: called on the reader thread with each event, in order; must not block.
    /// - Throws: `QMPError.connectFailed`.
    init(path: String, onEvent: @escaping @Sendable (QMPEvent) -> Void) throws {
        self.onEvent = onEvent
        let socket = try UnixSocket.connect(path: path)
        self.socket = socket
        self.open = Mutex(true)
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

    /// Sends one command object as a line.
    /// - Returns: false if the connection is closed or the write failed.
    /// - Parameter descriptors: passed with the line's first byte (`SCM_RIGHTS`), for QMP's `add-fd`; the caller
    ///   keeps its own copies.
    func send(_ message: JSONValue, passing descriptors: [Int32] = []) -> Bool {
        var bytes = [UInt8](message.serialized())
        bytes.append(UInt8(ascii: "\n"))
        return open.withLock { isOpen in
            isOpen && socket.writeAll(bytes, passing: descriptors)
        }
    }

    /// Closes the connection; the reader thread sees end of stream and finishes `messages`. Idempotent.
    func close() {
        open.withLock { isOpen in
            guard isOpen else { return }
            isOpen = false
            socket.shutdownBoth()
        }
    }

    private func readLoop() {
        var pending = [UInt8]()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 1)
        defer {
            buffer.deallocate()
            open.withLock { isOpen in
                isOpen = false
                socket.close()
            }
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
