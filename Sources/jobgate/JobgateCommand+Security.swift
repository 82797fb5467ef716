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
    /// origins. `reloadOnHangup` makes SIGHUP reload the tokens.
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

    /// The PEM files of `--tls-key` and `--tls-cert`, read at start and on each SIGHUP.
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

    /// From now on, SIGHUP reloads the token file (`authenticator`) and, with `--tls-cert`, the TLS certificate and
    /// key. A file that cannot be used is logged and the one in force stays; open connections and event streams
    /// are untouched. The handler runs on a dispatch queue, off the HTTP threads.
    func reloadOnHangup(_ authenticator: Authenticator?, logger: Logger) {
        guard authenticator != nil || tlsCert != nil else { return }
        let command = self
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler {
            authenticator?.reload()
            guard command.tlsCert != nil else { return }
            do {
                try TLSCredentials.install(try command.tlsMaterial()!)
                logger.notice("TLS certificate reloaded", metadata: ["tls_cert": "\(command.tlsCert!)"])
            } catch {
                logger.error(
                    "TLS certificate not reloaded; the one in force stays",
                    metadata: ["tls_cert": "\(command.tlsCert!)", "error": "\(error)"])
            }
        }
        source.resume()
        hangupSource = source
    }
}

/// The SIGHUP source, kept alive; set once, at start-up, before any other thread could read it.
nonisolated(unsafe) private var hangupSource: (any DispatchSourceSignal)?
