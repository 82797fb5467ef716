#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX calls the QMP client needs, in one place: a connected `AF_UNIX` stream socket.
///
/// Not thread-safe by itself; `QMPConnection` serialises writes and close.
struct UnixSocket: Sendable {
    let descriptor: Int32

    /// Connects to the UNIX socket at `path`.
    /// - Throws: `QMPError.connectFailed` with the system's reason (e.g. "Connection refused").
    static func connect(path: String) throws -> UnixSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw QMPError.connectFailed(path: path, reason: "path longer than \(capacity - 1) bytes")
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw QMPError.connectFailed(path: path, reason: Self.lastError()) }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let reason = Self.lastError()
            _ = Glibc.close(descriptor)
            throw QMPError.connectFailed(path: path, reason: reason)
        }
        return UnixSocket(descriptor: descriptor)
    }

    /// Reads what is there (blocking); 0 at end of stream, negative on error.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 && errno == EINTR { continue }
            return count
        }
    }

    /// Writes all of `bytes` (blocking).
    /// - Returns: false if the socket failed.
    func writeAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes {
                send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += count
        }
        return true
    }

    /// Writes all of `bytes` (blocking), passing `descriptors` with the first byte as one `SCM_RIGHTS` message.
    /// The receiver gets its own copies; the caller still owns and closes its descriptors.
    /// - Returns: false if the socket failed.
    func writeAll(_ bytes: [UInt8], passing descriptors: [Int32]) -> Bool {
        guard !descriptors.isEmpty, !bytes.isEmpty else { return writeAll(bytes) }
        // cmsghdr (len, level, type), then the descriptors, padded to the header's alignment (CMSG_SPACE).
        let header = MemoryLayout<cmsghdr>.size
        let alignment = MemoryLayout<cmsghdr>.alignment
        let payload = descriptors.count * MemoryLayout<Int32>.size
        let space = header + (payload + alignment - 1) / alignment * alignment
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: space, alignment: alignment)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0)
        let message = control.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
        message.pointee.cmsg_len = header + payload
        message.pointee.cmsg_level = SOL_SOCKET
        message.pointee.cmsg_type = Int32(SCM_RIGHTS)
        descriptors.withUnsafeBytes {
            (control.baseAddress! + header).copyMemory(from: $0.baseAddress!, byteCount: payload)
        }
        var sent = -1
        while sent < 0 {
            sent = bytes.withUnsafeBytes { buffer in
                var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress!), iov_len: 1)
                return withUnsafeMutablePointer(to: &vector) { vector in
                    var header = msghdr()
                    header.msg_iov = vector
                    header.msg_iovlen = 1
                    header.msg_control = control.baseAddress
                    header.msg_controllen = space
                    return sendmsg(descriptor, &header, Int32(MSG_NOSIGNAL))
                }
            }
            if sent < 0 && errno != EINTR { return false }
        }
        return writeAll(Array(bytes[sent...]))
    }

    /// Wakes a blocked reader with end-of-stream; the descriptor stays open until `close()`.
    func shutdownBoth() {
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
    }

    func close() {
        _ = Glibc.close(descriptor)
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
