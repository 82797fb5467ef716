import JSON
import JobModel
import Synchronization

/// The nodes clients attached through jobgate, in order, with the (confined) `blockdev-add` arguments that attached
/// them, so that they can be attached again to an engine that replaced a dead or hung one. Memory only: a new
/// jobgate re-attaches to the running engine, which still has its nodes. Safe from any thread.
final class NodeAttachments: Sendable {
    private let nodes = Mutex<[(name: String, arguments: JSONValue)]>([])

    func attached(_ name: String, with arguments: JSONValue) {
        nodes.withLock { nodes in
            nodes.removeAll { $0.name == name }
            nodes.append((name, arguments))
        }
    }

    func detached(_ name: String) {
        nodes.withLock { $0.removeAll { $0.name == name } }
    }

    /// The nodes in the order they were attached.
    var all: [(name: String, arguments: JSONValue)] {
        nodes.withLock { $0 }
    }
}
