// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "jobgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "jobgate", targets: ["jobgate"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Metrics: swift-metrics in the libraries, swift-prometheus behind it in the executable (GET /metrics).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Test only: parse and validate openapi/openapi.yaml.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/mattpolzin/OpenAPIKit", from: "6.4.0"),
    ],
    targets: [
        // The C boundary of Debian's libmicrohttpd (0.9.75), imported only by Gateway/Server.
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        // The C boundary of GnuTLS (libmicrohttpd's TLS): the certificate served, replaceable on SIGHUP.
        .target(name: "CGnuTLS", linkerSettings: [.linkedLibrary("gnutls")]),
        // JSON: a value type, a strict parser and a writer (jobgate's own, for speed and limits on untrusted input).
        .target(name: "JSON"),
        // Pure values: QAPI job types, statuses, verbs and QEMU's two tables, job records.
        .target(name: "JobModel", dependencies: ["JSON"]),
        // QMP client over a UNIX socket and the QEMU engine host.
        .target(
            name: "QMP",
            dependencies: [
                "JSON", "JobModel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Job records as JSON snapshot files.
        .target(
            name: "Store",
            dependencies: [
                "JSON", "JobModel", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Job records, verb gate, image-root confinement; drives QMP.
        .target(
            name: "Jobs",
            dependencies: [
                "JSON", "JobModel", "QMP", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // HTTP: router, routes, RFC 9457 problems, and the libmicrohttpd server; serves openapi/openapi.yaml.
        // It sees QEMU and the disk only through Jobs.
        .target(
            name: "Gateway",
            dependencies: [
                "JSON", "JobModel", "Jobs", "CMicroHTTPD", "CGnuTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            plugins: ["EmbedOpenAPI"]
        ),
        // Build time only: writes a file's text into a Swift source (for EmbedOpenAPI).
        .executableTarget(name: "EmbedFile"),
        .plugin(name: "EmbedOpenAPI", capability: .buildTool(), dependencies: ["EmbedFile"]),
        .executableTarget(
            name: "jobgate",
            dependencies: [
                "Gateway", "JSON", "Jobs", "QMP", "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Shared by tests: a fake QMP server on a UNIX socket, and HTTP/process helpers.
        .target(name: "TestSupport", dependencies: ["JSON", "JobModel", "QMP", "Jobs"], path: "Tests/TestSupport"),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "JobModelTests", dependencies: ["JSON", "JobModel"]),
        .testTarget(name: "StoreTests", dependencies: ["JSON", "Store", "JobModel"]),
        .testTarget(name: "QMPTests", dependencies: ["JSON", "QMP", "JobModel", "TestSupport"]),
        .testTarget(name: "JobsTests", dependencies: ["JSON", "Jobs", "Gateway", "QMP", "JobModel", "Store", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "JSON", "Jobs", "QMP", "JobModel", "TestSupport",
                .product(name: "Yams", package: "Yams"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["JSON", "JobModel", "QMP", "TestSupport", .product(name: "Logging", package: "swift-log")],
            exclude: [
                "Support/stallfs.py", "Support/generated_client_backup.py", "Support/openapi_generator_client.py",
                "Support/schemathesis.toml", "Support/schemathesis_hooks.py", "Support/parse_metrics.py",
            ]),
    ]
)
