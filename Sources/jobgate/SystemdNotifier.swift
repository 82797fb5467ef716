import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// systemd's readiness protocol (`sd_notify(3)`, for `Type=notify` in deploy/systemd/jobgate.service) without
/// libsystemd: one datagram of `KEY=VALUE` lines to the AF_UNIX socket named by `$NOTIFY_SOCKET` (a path, or
/// `@name` for the abstract namespace). Without that variable, nothing is sent.
struct SystemdNotifier: Sendable {
    let socketPath: String

    /// The notifier systemd asked for, or nil when jobgate does not run under `Type=notify`.
    init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], path.count > 1 else { return nil }
        socketPath = path
    }

    /// Sends `state` (e.g. `READY=1`). Returns whether the datagram was sent.
    @discardableResult
    func send(_ state: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            bytes.copyBytes(from: path)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                message.withUnsafeBytes {
                    sendto(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), pointer, length)
                }
            }
        }
        return sent == message.count
    }

    /// Sends `READY=1` once `isReady` holds (checked every 100 ms: what `/readyz` answers 200 for), with a
    /// `STATUS=` line systemd shows. Returns when sent, or when cancelled.
    func notifyWhenReady(_ isReady: @Sendable () -> Bool) async {
        while !Task.isCancelled {
            if isReady() {
                send("READY=1\nSTATUS=ready: the job records are loaded and the QEMU engine answers")
                return
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
