import Foundation
import JSON
import JobModel
import Jobs

extension JobError: ProblemConvertible {
    public var problem: Problem {
        switch self {
        case .invalidBody(let detail):
            return Problem("invalid-body", title: "Invalid request body", status: 400, detail: detail)
        case .invalidField(let field, let detail):
            return Problem(
                "invalid-field", title: "Invalid field in request body", status: 400, detail: detail,
                extensions: ["field": .string(field)])
        case .unknownJob(let id):
            return Problem.unknownJob(id)
        case .verbNotAllowed(let id, let verb, let status):
            return Problem(
                "verb-not-allowed", title: "Verb not allowed in the job's status", status: 409,
                detail: verb.refusal(jobID: id, status: status),
                extensions: [
                    "job-id": .string(id), "job-status": .string(status.rawValue), "verb": .string(verb.rawValue),
                    "allowed-verbs": .array(JobVerb.allowed(in: status).map { .string($0.rawValue) }),
                    "class": "GenericError", "desc": .string(verb.refusal(jobID: id, status: status)),
                ])
        case .notABlockJob(let id, let type, let verb):
            return Problem(
                "not-a-block-job", title: "Verb only applies to block jobs", status: 422,
                detail:
                    "'\(verb.rawValue)' applies only to block jobs (backup, mirror, stream, commit); job '\(id)' is a \(type?.rawValue ?? "job of unknown type")",
                extensions: ["job-id": .string(id), "verb": .string(verb.rawValue)])
        case .starting:
            return Problem(
                "starting", title: "Starting", status: 503, detail: "jobgate is still loading its job records",
                headers: ["Retry-After": "1"])
        case .storageFailing(let directory, let reason, let held):
            return Problem.storageFailing(dataDirectory: directory, reason: reason, held: held)
        case .inQEMUWords(let refusal, let qemu):
            var problem = refusal.problem
            problem.extensions["class"] = .string(qemu.errorClass)
            problem.extensions["desc"] = .string(qemu.description)
            return problem
        case .jobEnded(let id, let verb, let qemu):
            return Problem(
                "verb-not-allowed", title: "Verb not allowed in the job's status", status: 409,
                detail: "\(qemu.description): job '\(id)' has ended (status null); its record is kept",
                extensions: [
                    "job-id": .string(id), "job-status": .string(JobStatus.null.rawValue),
                    "verb": .string(verb.rawValue),
                    "allowed-verbs": .array([]), "class": .string(qemu.errorClass), "desc": .string(qemu.description),
                ])
        case .transactionRefused(let detail):
            return Problem("transaction-refused", title: "Transaction refused", status: 422, detail: detail)
        case .unsupportedByEngine(let feature, let version, let since):
            let running = version.map { "QEMU \($0)" } ?? "the connected QEMU (version unknown)"
            return Problem(
                "unsupported-by-engine", title: "Not supported by this QEMU", status: 501,
                detail: "\(feature) needs QEMU \(since.major).\(since.minor) or later; the engine is \(running)",
                extensions: [
                    "qemu-version": version.map { .string($0.description) } ?? .null,
                    "required-version": .string("\(since.major).\(since.minor)"),
                ])
        case .pathOutsideImageRoots(let field, let path):
            return Problem(
                "path-outside-image-roots", title: "File outside the image roots", status: 403,
                detail:
                    "'\(field)' names '\(path)', which does not resolve inside an image root (symlinks followed; json: and protocol names are not allowed)",
                extensions: ["field": .string(field), "path": .string(path)])
        case .notARegularFile(let field, let path, let kind):
            return Problem(
                "not-a-regular-file", title: "Not a regular file", status: 403,
                detail: "'\(field)' names '\(path)', which is \(kind); only regular files are opened",
                extensions: ["field": .string(field), "path": .string(path)])
        case .driverNotAllowed(let field, let driver, let allowed):
            return Problem(
                "driver-not-allowed", title: "Block driver not allowed", status: 403,
                detail:
                    "'\(field)' is '\(driver)', which is not on the driver allow-list (\(allowed.joined(separator: ", ")))",
                extensions: [
                    "field": .string(field), "driver": .string(driver),
                    "allowed-drivers": .array(allowed.map { .string($0) }),
                ])
        case .fileSystemTimeout(let seconds):
            return Problem(
                "file-system-timeout", title: "Image root not answering", status: 503,
                detail:
                    "a file-system call in an image root took longer than \(seconds.formatted()) s; nothing was sent to QEMU (a stalled mount?)",
                headers: ["Retry-After": "5"])
        case .engine(let error, let operation):
            return Problem.engine(error, operation: operation)
        }
    }
}

extension Problem {
    /// An id jobgate has no record of, in QEMU's words for it (`job.c` `find_job_locked`); the verb routes
    /// give the block-job-* wording instead where that is the command (`QEMUWording.jobNotFound`).
    static func unknownJob(_ id: String) -> Problem {
        Problem(
            "unknown-job", title: "No such job", status: 404, detail: "no job with id '\(id)' is known",
            extensions: ["job-id": .string(id), "class": "GenericError", "desc": "Job not found"])
    }

    /// An engine failure as a problem; QEMU's `class` and `desc` are kept verbatim where QEMU refused.
    static func engine(_ error: EngineFailure, operation: JobError.Operation) -> Problem {
        switch error {
        case .refused(let refusal):
            let members: [String: JSONValue] = [
                "class": .string(refusal.errorClass), "desc": .string(refusal.description),
            ]
            if refusal.errorClass == "CommandNotFound" {
                return Problem(
                    "unsupported-by-engine", title: "Not supported by this QEMU", status: 501,
                    detail: refusal.description, extensions: members)
            }
            switch operation {
            case .verb(_, let id)
            where refusal.errorClass == "DeviceNotActive" || refusal.description == "Job not found":
                var problem = unknownJob(id)
                problem.extensions.merge(members) { $1 }
                return problem
            case .verb:
                return Problem(
                    "engine-refused", title: "QEMU refused the command", status: 409, detail: refusal.description,
                    extensions: members)
            case .create:
                return Problem(
                    "engine-refused", title: "QEMU refused the command", status: 422, detail: refusal.description,
                    extensions: members)
            case .query:
                return Problem(
                    "engine-error", title: "QEMU failed a query", status: 502, detail: refusal.description,
                    extensions: members)
            }
        case .timeout:
            return Problem(
                "engine-timeout", title: "QEMU did not answer in time", status: 504, detail: error.description)
        case .unavailable:
            return .engineUnavailable(error.description)
        case .protocolViolation:
            return Problem("engine-error", title: "QEMU failed a query", status: 502, detail: error.description)
        }
    }

    static func routeNotFound(_ path: String) -> Problem {
        Problem("not-found", title: "No such resource", status: 404, detail: "nothing is served at '\(path)'")
    }

    static func methodNotAllowed(_ method: String, path: String, allowed: [String]) -> Problem {
        Problem(
            "method-not-allowed", title: "Method not allowed", status: 405,
            detail: "\(method) is not allowed on '\(path)'; allowed: \(allowed.joined(separator: ", "))",
            extensions: ["allowed-methods": .array(allowed.map { .string($0) })],
            headers: ["Allow": allowed.joined(separator: ", ")])
    }

    static func bodyTooLarge(limit: Int) -> Problem {
        Problem(
            "body-too-large", title: "Request body too large", status: 413,
            detail: "request bodies are limited to \(limit) bytes", extensions: ["limit": .int(Int64(limit))])
    }

    /// 507: the data directory takes no durable writes, so nothing is acknowledged. `held`: what became of an
    /// effect QEMU had already carried out; nil when nothing was sent to QEMU.
    static func storageFailing(dataDirectory: String, reason: String, held: String? = nil) -> Problem {
        Problem(
            "storage-failing", title: "Data directory takes no durable writes", status: 507,
            detail: (held.map { $0 + ". " } ?? "nothing was sent to QEMU: ")
                + "jobgate cannot make changes durable in its data directory \(dataDirectory) (\(reason)); reads go on, and changes are accepted again by themselves once it takes writes",
            extensions: ["data-dir": .string(dataDirectory), "reason": .string(reason)],
            headers: ["Retry-After": "5"])
    }

    /// The same problem as `/readyz`'s 503: not ready, for the problem's reason, since `since`.
    func asNotReady(since: Date) -> Problem {
        var problem = self
        problem.status = 503
        problem.extensions["since"] = .string(Timestamp.format(since))
        return problem
    }

    /// 503: the bodies of requests in flight on all connections reached the budget (`--body-budget`).
    static func serverBusy(budget: Int) -> Problem {
        Problem(
            "server-busy", title: "Too many request bodies in flight", status: 503,
            detail:
                "the bodies of the requests in flight on all connections would pass jobgate's budget of \(budget) bytes (--body-budget); retry shortly",
            headers: ["Retry-After": "1"])
    }

    static func shuttingDown() -> Problem {
        Problem(
            "shutting-down", title: "Shutting down", status: 503, detail: "jobgate is shutting down",
            headers: ["Retry-After": "2"])
    }

    static func internalError() -> Problem {
        Problem(
            "internal", title: "Internal error", status: 500,
            detail: "jobgate failed to handle the request; see its log")
    }
}
