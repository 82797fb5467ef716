import Foundation
import Gateway
import JSON
import JobModel
import Jobs
import Logging
import QMP
import TestSupport
import Testing

/// The router and error rendering, in process, with a scripted engine instead of QEMU.
@Suite struct ResponderTests {
    let engine = ScriptedEngine { command, _ in
        if command == "job-pause" {
            throw QMPError.command(QMPRemoteError(errorClass: "GenericError", description: "Job is already paused"))
        }
        return []
    }

    func responder(connected: Bool = true) -> (Responder, JobManager) {
        let status = EngineStatus()
        if connected { status.markConnected(QMPGreeting(version: QEMUVersion(major: 7, minor: 2, micro: 22))) }
        let manager = JobManager(
            engine: engine, policy: testPolicy(), status: status, events: EventHub(encoding: ServerSentEvents()),
            logger: Logger(label: "test"))
        let policy = testPolicy()
        let router = GatewayRoutes.makeRouter(
            manager: manager, catalog: NodeCatalog(engine: engine, policy: policy),
            secrets: SecretCatalog(engine: engine))
        return (Responder(router: router, logger: Logger(label: "test")), manager)
    }

    func respond(_ responder: Responder, _ method: String, _ path: String, _ body: String = "") async -> (
        Int, JSONValue?
    ) {
        let request = Request(
            method: method, path: path, headers: body.isEmpty ? [:] : ["content-type": "application/json"],
            body: Data(body.utf8))
        let response: Response
        switch responder.handle(request) {
        case .ready(let ready): response = ready
        case .deferred(let work): response = await work()
        }
        return (response.status, try? JSONValue.parse(response.body))
    }

    @Test("health is immediate; readiness follows the engine")
    func health() async {
        let (ready, _) = responder()
        guard case .ready(let response) = ready.handle(Request(method: "GET", path: "/healthz")) else {
            Issue.record("/healthz must be answered on the libmicrohttpd thread")
            return
        }
        #expect(response.status == 200)
        let (down, _) = responder(connected: false)
        let (status, problem) = await respond(down, "GET", "/readyz")
        #expect(status == 503)
        #expect(problem?["type"] == "urn:jobgate:problem:engine-unavailable")
    }

    @Test("unknown paths are 404, wrong methods 405 with Allow")
    func routing() async {
        let (responder, _) = responder()
        #expect(await respond(responder, "GET", "/nope").0 == 404)
        let (status, problem) = await respond(responder, "PUT", "/jobs")
        #expect(status == 405)
        #expect(problem?["allowed-methods"] == ["GET", "POST"])
    }

    @Test("a creation refused by QEMU keeps QEMU's class and text; verbs on unknown jobs are 404")
    func engineRefusals() async {
        let refusing = ScriptedEngine { command, _ in
            guard command != "blockdev-backup" else {
                throw QMPError.command(
                    QMPRemoteError(errorClass: "GenericError", description: "Cannot find device='x' nor node-name='x'"))
            }
            return []
        }
        let manager = JobManager(
            engine: refusing, policy: testPolicy(), status: EngineStatus(),
            events: EventHub(encoding: ServerSentEvents()), logger: Logger(label: "test"))
        let policy = testPolicy()
        let router = GatewayRoutes.makeRouter(
            manager: manager, catalog: NodeCatalog(engine: refusing, policy: policy),
            secrets: SecretCatalog(engine: refusing))
        let responder = Responder(router: router, logger: Logger(label: "test"))
        let (status, problem) = await respond(
            responder, "POST", "/jobs", #"{"type":"backup","id":"b0","device":"x","target":"y","sync":"full"}"#)
        #expect(status == 422)
        #expect(problem?["class"] == "GenericError")
        #expect(problem?["desc"] == "Cannot find device='x' nor node-name='x'")
        #expect(await respond(responder, "POST", "/jobs/b0/pause").0 == 404)
    }

    @Test("a nested unknown field of a create body is named, and QEMU is not asked")
    func nestedFieldNamed() async {
        let (responder, _) = responder()
        let body = #"{"type":"create","id":"c0","options":{"driver":"qcow2","file":"n","size":1,"bogus":true}}"#
        let (status, problem) = await respond(responder, "POST", "/jobs", body)
        #expect(status == 400)
        #expect(problem?["field"] == "options.bogus")
        let (unionStatus, unionProblem) = await respond(
            responder, "POST", "/jobs", #"{"type":"create","id":"c0","options":{"driver":"vmdk","size":1}}"#)
        #expect(unionStatus == 400)
        #expect(unionProblem?["field"] == "options.driver")
        #expect(engine.commands.isEmpty)
    }
}
