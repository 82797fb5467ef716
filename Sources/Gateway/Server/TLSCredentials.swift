import CGnuTLS

/// The certificate and key HTTPS handshakes use, process-wide: installed before the server starts and replaced
/// on SIGHUP (`install`). libmicrohttpd asks for them at each handshake (MHD_OPTION_HTTPS_CERT_CALLBACK), so a
/// new certificate serves new connections at once while open ones, event streams included, go on undisturbed.
public enum TLSCredentials {
    /// The callback the daemon is started with.
    static var callback: UnsafeMutableRawPointer { cgnutls_certificate_callback() }

    /// Parses `material`, checks that key and certificate belong together, and serves it from the next handshake
    /// on. On failure nothing changes: the credentials in use stay. Any thread.
    /// - Throws: `TLSCredentialsError` with GnuTLS's reason.
    public static func install(_ material: MicroHTTPDServer.TLSMaterial) throws {
        var failure: UnsafePointer<CChar>?
        let status = cgnutls_install_credentials(material.certificate, material.key, &failure)
        guard status == 0 else {
            throw TLSCredentialsError(reason: failure.map { String(cString: $0) } ?? "GnuTLS error \(status)")
        }
    }
}

/// A certificate or key GnuTLS cannot use, or a key that is not the certificate's.
public struct TLSCredentialsError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "the TLS certificate and key cannot be used: \(reason)" }
}
