import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Raw TCP connections to jobgate on loopback, for tests that need what an HTTP client hides (a source address,
/// small buffers, bytes sent one at a time).
public enum TCP {
    /// Connects to 127.0.0.1:`port`, from `source` (an address in 127.0.0.0/8) if given.
    /// - Parameter configure: called on the socket before it connects (buffer sizes, timeouts).
    /// - Returns: the socket (the caller closes it), or nil.
    public static func connect(
        to port: UInt16, from source: String? = nil, configure: (Int32) -> Void = { _ in }
    ) -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        configure(descriptor)
        if let source {
            var local = address(source, port: 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                close(descriptor)
                return nil
            }
        }
        var remote = address("127.0.0.1", port: port)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    private static func address(_ host: String, port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        return address
    }
}
