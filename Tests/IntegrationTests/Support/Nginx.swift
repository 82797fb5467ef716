import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's nginx in front of a jobgate, configured by `deploy/nginx/jobgate.conf` as it is in the repository:
/// only the addresses, the name and the certificate are replaced, and a missing one fails the test (the file
/// changed shape). A missing nginx fails the test too (scripts/deps.sh installs it).
final class Nginx: Sendable {
    /// The name the proxy serves (its certificate's), resolved to 127.0.0.1 by the clients.
    static let serverName = "jobgate.test"

    let process: ChildProcess
    let port: UInt16
    let directory: String
    /// The self-signed certificate nginx serves: what clients trust.
    let certificate: String

    /// `https://jobgate.test:<port>`: the public origin clients see.
    var origin: String { "https://\(Self.serverName):\(port)" }

    /// The repository's deploy/nginx/jobgate.conf.
    static var deployedConfiguration: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/nginx/jobgate.conf").path
    }

    private init(process: ChildProcess, port: UInt16, directory: String, certificate: String) {
        self.process = process
        self.port = port
        self.directory = directory
        self.certificate = certificate
    }

    /// Starts nginx proxying to jobgate on `upstreamPort`, on a free loopback port.
    static func start(upstreamPort: UInt16) async throws -> Nginx {
        let nginx = try #require(
            ChildProcess.find("nginx") ?? (access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : nil),
            "nginx is not installed (scripts/deps.sh installs it)")
        let directory = NSTemporaryDirectory() + "nginx-\(UUID().uuidString.prefix(8))"
        // nginx's workers run as nobody: they must reach the temporary files' folder.
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let (key, certificate) = (directory + "/key.pem", directory + "/cert.pem")
        try await makeCertificate(key: key, certificate: certificate)
        for attempt in 0..<5 {
            let port = UInt16.random(in: 41_000..<59_000)
            try configure(
                directory: directory, port: port, upstreamPort: upstreamPort, key: key, certificate: certificate)
            let process = try ChildProcess(
                nginx, ["-p", directory, "-c", directory + "/nginx.conf"], outputPath: directory + "/nginx.out")
            let listening = await eventually(timeout: .seconds(5)) {
                if let fd = TCP.connect(to: port) {
                    close(fd)
                    return true
                }
                return false
            }
            if listening { return Nginx(process: process, port: port, directory: directory, certificate: certificate) }
            process.signal(SIGKILL)
            _ = await process.wait(timeout: .seconds(5))
            if attempt == 4 {
                let log = (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? ""
                Issue.record("nginx did not start: \(process.output)\n\(log)")
            }
        }
        throw POSIXError(.EADDRINUSE)
    }

    /// The deploy file with this run's addresses, name and certificate, inside a minimal nginx.conf.
    private static func configure(
        directory: String, port: UInt16, upstreamPort: UInt16, key: String, certificate: String
    ) throws {
        var site = try String(contentsOfFile: deployedConfiguration, encoding: .utf8)
        let replacements = [
            ("server 127.0.0.1:8080;", "server 127.0.0.1:\(upstreamPort);"),
            ("listen 443 ssl http2;", "listen 127.0.0.1:\(port) ssl http2;"),
            ("server_name jobgate.example.com;", "server_name \(serverName);"),
            ("/etc/ssl/jobgate/fullchain.pem", certificate),
            ("/etc/ssl/jobgate/privkey.pem", key),
        ]
        for (from, to) in replacements {
            try #require(site.contains(from), "deploy/nginx/jobgate.conf no longer has '\(from)'")
            site = site.replacingOccurrences(of: from, with: to)
        }
        try site.write(toFile: directory + "/jobgate.conf", atomically: true, encoding: .utf8)
        let main = """
            daemon off;
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log info;
            events { worker_connections 512; }
            http {
                access_log \(directory)/access.log;
                client_body_temp_path \(directory)/body;
                proxy_temp_path \(directory)/proxy;
                fastcgi_temp_path \(directory)/fastcgi;
                uwsgi_temp_path \(directory)/uwsgi;
                scgi_temp_path \(directory)/scgi;
                include \(directory)/jobgate.conf;
            }

            """
        try main.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
    }

    /// A self-signed certificate for `serverName`.
    private static func makeCertificate(key: String, certificate: String) async throws {
        let openssl = try #require(ChildProcess.find("openssl"), "openssl is not installed (scripts/deps.sh)")
        let (made, output) = try await ChildProcess.run(
            openssl,
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
                "-subj", "/CN=\(serverName)", "-addext", "subjectAltName=DNS:\(serverName)",
            ])
        try #require(made == 0, "openssl: \(output)")
        chmod(key, 0o644)
    }

    /// curl through the proxy, trusting its certificate, with `serverName` resolved to 127.0.0.1.
    func curlArguments(_ path: String, _ extra: [String] = []) -> [String] {
        ["-sS", "--cacert", certificate, "--resolve", "\(Self.serverName):\(port):127.0.0.1"] + extra + [origin + path]
    }

    func stop() async {
        process.signal(SIGTERM)
        if await process.wait(timeout: .seconds(5)) == nil {
            process.signal(SIGKILL)
            _ = await process.wait(timeout: .seconds(5))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
