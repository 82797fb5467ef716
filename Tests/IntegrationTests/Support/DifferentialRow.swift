import JobModel

/// One request of `DifferentialTests`, in its QMP form and its HTTP form. `@J` in either stands for the row's
/// job id (`@Jb` for a second one).
struct DifferentialRow {
    /// A status a job is brought into, and held in, before the request (`DifferentialSides.hold`).
    enum Hold: String {
        case running, paused, ready, standby, pending, concluded
        /// Concluded, then dismissed: QEMU no longer knows it; jobgate keeps its record.
        case gone
    }

    var name: String
    var hold: Hold?
    var qmp: (command: String, arguments: String)
    var http: (method: String, path: String, body: String?)
    /// The jobs whose status sequences after the request are compared.
    var jobs: [String] = ["@J"]
    /// jobgate answers this one itself, before QEMU would (QEMUWording): the answer and the words are compared,
    /// not the events of the job QEMU would create and roll back on its way to the same refusal.
    var answeredByJobgate = false

    /// `verb` on a job held in `hold`.
    static func verb(_ verb: JobVerb, in hold: Hold) -> DifferentialRow {
        let qmp: (String, String) =
            switch verb {
            case .setSpeed: ("block-job-set-speed", #"{"device":"@J","speed":0}"#)
            case .change: ("block-job-change", #"{"id":"@J","type":"mirror","copy-mode":"write-blocking"}"#)
            default: (verb.qmpCommand(), #"{"id":"@J"}"#)
            }
        let body: String? =
            switch verb {
            case .setSpeed: #"{"speed":0}"#
            case .change: #"{"copy-mode":"write-blocking"}"#
            default: nil
            }
        return DifferentialRow(
            name: "\(verb.rawValue) when \(hold.rawValue)", hold: hold, qmp: qmp,
            http: ("POST", "/jobs/@J/\(verb.rawValue)", body))
    }

    static let backupArguments = #""device":"src","target":"dst","sync":"full""#

    /// Refusals of creations and verbs that jobgate makes itself, and lookups of jobs QEMU does not have.
    static let refusals: [DifferentialRow] = [
        DifferentialRow(
            name: "backup with a negative speed",
            qmp: ("blockdev-backup", #"{"job-id":"@J",\#(backupArguments),"speed":-1}"#),
            http: ("POST", "/jobs", #"{"type":"backup","id":"@J",\#(backupArguments),"speed":-1}"#),
            answeredByJobgate: true),
        DifferentialRow(
            name: "mirror with a negative speed",
            qmp: ("blockdev-mirror", #"{"job-id":"@J",\#(backupArguments),"speed":-5}"#),
            http: ("POST", "/jobs", #"{"type":"mirror","id":"@J",\#(backupArguments),"speed":-5}"#),
            answeredByJobgate: true),
        DifferentialRow(
            name: "set-speed with a negative speed", hold: .running,
            qmp: ("block-job-set-speed", #"{"device":"@J","speed":-1}"#),
            http: ("POST", "/jobs/@J/set-speed", #"{"speed":-1}"#)),
        DifferentialRow(
            name: "a job id QEMU's grammar refuses",
            qmp: ("blockdev-backup", #"{"job-id":"1bad",\#(backupArguments)}"#),
            http: ("POST", "/jobs", #"{"type":"backup","id":"1bad",\#(backupArguments)}"#), jobs: []),
        DifferentialRow(
            name: "a job id in use", hold: .running,
            qmp: ("blockdev-backup", #"{"job-id":"@J",\#(backupArguments)}"#),
            http: ("POST", "/jobs", #"{"type":"backup","id":"@J",\#(backupArguments)}"#)),
        DifferentialRow(
            name: "pause of an unknown job", qmp: ("job-pause", #"{"id":"nope"}"#),
            http: ("POST", "/jobs/nope/pause", nil), jobs: []),
        DifferentialRow(
            name: "dismiss of an unknown job", qmp: ("job-dismiss", #"{"id":"nope"}"#),
            http: ("POST", "/jobs/nope/dismiss", nil), jobs: []),
        DifferentialRow(
            name: "set-speed of an unknown job", qmp: ("block-job-set-speed", #"{"device":"nope","speed":1}"#),
            http: ("POST", "/jobs/nope/set-speed", #"{"speed":1}"#), jobs: []),
        DifferentialRow(
            name: "soft cancel of an unknown job", qmp: ("block-job-cancel", #"{"device":"nope","force":false}"#),
            http: ("POST", "/jobs/nope/cancel", #"{"force":false}"#), jobs: []),
    ]

    static let backupAction = #"{"type":"blockdev-backup","data":{"job-id":"@J",\#(backupArguments)}}"#
    static let grouped = #""properties":{"completion-mode":"grouped"}"#
    static let abortAction = #"{"type":"abort","data":{}}"#

    /// Transactions: empty, refused by jobgate in grouped mode (QEMU 7.2's words), and refused by QEMU after
    /// creating (and rolling back) a job.
    static let transactions: [DifferentialRow] = [
        transaction("an empty transaction", #"{"actions":[]}"#, jobs: []),
        transaction(
            "grouped with a bitmap action",
            #"{"actions":[{"type":"block-dirty-bitmap-add","data":{"node":"src","name":"bm@J"}}],\#(grouped)}"#,
            jobs: [], answeredByJobgate: true),
        transaction(
            "grouped with abort first", #"{"actions":[\#(abortAction),\#(backupAction)],\#(grouped)}"#, jobs: [],
            answeredByJobgate: true),
        transaction(
            "grouped with abort after a backup", #"{"actions":[\#(backupAction),\#(abortAction)],\#(grouped)}"#,
            jobs: [], answeredByJobgate: true),
        transaction("individual with abort after a backup", #"{"actions":[\#(backupAction),\#(abortAction)]}"#),
        transaction("an action without data", #"{"actions":[\#(backupAction),{"type":"abort"}]}"#, jobs: []),
        transaction(
            "grouped, the second backup fails in prepare",
            #"{"actions":[\#(backupAction),{"type":"blockdev-backup","data":{"job-id":"@Jb","device":"src","target":"dst","sync":"incremental","bitmap":"nope"}}],\#(grouped)}"#,
            jobs: ["@J", "@Jb"]),
        transaction(
            "individual, the second backup fails in prepare",
            #"{"actions":[\#(backupAction),{"type":"blockdev-backup","data":{"job-id":"@Jb","device":"src","target":"dst","sync":"incremental","bitmap":"nope"}}]}"#,
            jobs: ["@J", "@Jb"]),
    ]

    static func transaction(
        _ name: String, _ body: String, jobs: [String] = ["@J"], answeredByJobgate: Bool = false
    ) -> DifferentialRow {
        DifferentialRow(
            name: name, qmp: ("transaction", body), http: ("POST", "/transactions", body), jobs: jobs,
            answeredByJobgate: answeredByJobgate)
    }
}
