import Foundation
import JobModel
import Jobs
import Logging

/// Turns a request into a response: routing, and the one place where thrown errors become problem documents.
///
/// `handle` is called on a libmicrohttpd thread and never waits: immediate routes answer at once; deferred ones
/// come back as work for a Swift task.
public struct Responder: Sendable {
    /// What to do with a request.
    public enum Outcome: Sendable {
        case ready(Response)
        /// Run this off the libmicrohttpd threads; it never throws (errors are already rendered).
        case deferred(@Sendable () async -> Response)
    }

    public let router: Router
    private let logger: Logger
    /// While it answers, every request that could change anything is refused with 507 before it is routed
    /// (`JobManager.storageRefusal`).
    private let storageRefusal: @Sendable () -> StorageRefusal?
    /// Host, Origin, media type and token checks before routing; CORS headers on every answer.
    private let access: AccessControl

    public init(
        router: Router, storageRefusal: @escaping @Sendable () -> StorageRefusal? = { nil },
        access: AccessControl = AccessControl(), logger: Logger
    ) {
        self.router = router
        self.storageRefusal = storageRefusal
        self.access = access
        self.logger = logger
    }

    /// Methods that only read (everything else may change jobs, nodes or secrets).
    static let readOnlyMethods: Set<String> = ["GET", "HEAD", "OPTIONS"]

    /// Routes `request`. Called from a libmicrohttpd thread; must not block.
    public func handle(_ request: Request) -> Outcome {
        let started = ContinuousClock.now
        var request = request
        switch admit(&request) {
        case .ready(let response):
            let response = access.decorate(response, for: request)
            log(request, response)
            RequestMetrics.answered(request, response, after: .now - started)
            return .ready(response)
        case .deferred(let work):
            return .deferred { [self, request] in
                let response = access.decorate(await work(), for: request)
                log(request, response)
                RequestMetrics.answered(request, response, after: .now - started)
                return response
            }
        }
    }

    /// `OPTIONS` is answered from the route table; anything else passes `AccessControl` and is routed.
    private func admit(_ request: inout Request) -> Outcome {
        if request.method == "OPTIONS" {
            let methods = router.methods(for: request.path)
            guard !methods.isEmpty else {
                return .ready(Problem.routeNotFound(request.path).response(instance: request.path))
            }
            return .ready(access.preflight(request, methods: methods))
        }
        switch access.check(request) {
        case .refuse(let problem):
            return .ready(problem.response(instance: request.path))
        case .proceed(let admitted):
            request = admitted
            return route(&request)
        }
    }

    /// Server errors are warnings, except 503: it says "not yet" (records loading, engine starting or
    /// reconnecting, shutting down), which the engine supervisor already logs once, while probes ask many times.
    private func log(_ request: Request, _ response: Response) {
        logger.log(
            level: response.status >= 500 && response.status != 503 ? .warning : .debug, "request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.path)", "status": "\(response.status)",
                "token": "\(request.principal?.name ?? "-")",
            ])
    }

    /// Routes `request`, noting the pattern it matched in it.
    private func route(_ request: inout Request) -> Outcome {
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            return .ready(Problem.routeNotFound(request.path).response(instance: request.path))
        case .methodNotAllowed(let allowed):
            return .ready(
                Problem.methodNotAllowed(request.method, path: request.path, allowed: allowed)
                    .response(instance: request.path))
        case .found(let handler, let parameters, let pattern):
            request.route = pattern
            if !Self.readOnlyMethods.contains(request.method), let refusal = storageRefusal() {
                return .ready(
                    Problem.storageFailing(dataDirectory: refusal.dataDirectory, reason: refusal.reason)
                        .response(instance: request.path))
            }
            var request = request
            request.parameters = parameters
            switch handler {
            case .immediate(let body):
                do {
                    return .ready(try body(request))
                } catch {
                    return .ready(render(error, for: request))
                }
            case .deferred(let body):
                return runDeferred(request, body)
            case .either(let immediate, let otherwise):
                do {
                    if let response = try immediate(request) { return .ready(response) }
                } catch {
                    return .ready(render(error, for: request))
                }
                return runDeferred(request, otherwise)
            }
        }
    }

    private func runDeferred(_ request: Request, _ body: @escaping Router.DeferredHandler) -> Outcome {
        .deferred { [self, request] in
            do {
                return try await body(request)
            } catch {
                return render(error, for: request)
            }
        }
    }

    /// Renders any error as problem+json; errors that are not `ProblemConvertible` are logged and become 500.
    public func render(_ error: any Error, for request: Request) -> Response {
        if !(error is any ProblemConvertible) {
            logger.error(
                "unhandled error",
                metadata: ["method": "\(request.method)", "path": "\(request.path)", "error": "\(error)"])
        }
        return Problem.of(error).response(instance: request.path)
    }
}
