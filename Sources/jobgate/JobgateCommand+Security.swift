import ArgumentParser
import Dispatch
import Foundation
import Gateway
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension JobgateCommand {
    /// The access checks from the command line: tokens (refusing a file others may read), allowed hosts and CORS
    /// origins; SIGHUP reloads the tokens from then on.
    /// - Throws: `ValidationError` for a non-loopback listen address without `--token-file` (unless
    ///   `--insecure-no-auth`), or a token file that cannot be trusted.
    func makeAccessControl(address: ListenAddress, logger: Logger) throws -> AccessControl {
        var authenticator: Authenticator?
        if let tokenFile {
            do {
                authenticator = try Authenticator(path: tokenFile, logger: logger)
            } catch {
                throw ValidationError("\(error)")
            }
            Self.reloadOnHangup(authenticator!)
        } else if !Self.isLoopback(address.host) {
            guard insecureNoAuth else {
                throw ValidationError(
                    "--listen \(listen) is not a loopback address: give --token-file (or --insecure-no-auth to accept that anyone who reaches the port may do anything)"
                )
            }
            logger.warning(
                "listening on a non-loopback address without tokens (--insecure-no-auth): anyone who reaches the port may create, control and delete jobs, nodes and secrets",
                metadata: ["listen": "\(listen)"])
        }
        return AccessControl(
            authenticator: authenticator, listenHost: address.host, allowedHosts: allowedHost,
            corsOrigins: corsOrigin)
    }

    /// The PEM files of `--tls-key` and `--tls-cert`, read at start.
    /// - Throws: `ValidationError` naming a file that cannot be read.
    func tlsMaterial() throws -> MicroHTTPDServer.TLSMaterial? {
        guard let tlsCert, let tlsKey else { return nil }
        func read(_ path: String, _ option: String) throws -> String {
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ValidationError("\(option) \(path): \(error.localizedDescription)")
            }
        }
        return MicroHTTPDServer.TLSMaterial(
            key: try read(tlsKey, "--tls-key"), certificate: try read(tlsCert, "--tls-cert"))
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "::1" || host.hasPrefix("127.")
    }

    /// Keeps a dispatch signal source for SIGHUP for the life of the process.
    private static func reloadOnHangup(_ authenticator: Authenticator) {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { authenticator.reload() }
        source.resume()
        hangupSource = source
    }
}

/// The SIGHUP source, kept alive; set once, at start-up, before any other thread could read it.
nonisolated(unsafe) private var hangupSource: (any DispatchSourceSignal)?
