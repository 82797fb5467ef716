import Foundation
import Synchronization

/// The thread `JobManager` runs on: a serial executor of its own, as QMP has its reader thread.
///
/// The manager waits, on purpose, for the journal's write and fdatasync before it makes a change visible
/// (`JobManager+GroupCommit`). On its own thread that wait blocks this thread only, never one of the cooperative
/// pool's (which has as many threads as cores, two here), where request tasks and the QMP client run. Jobs are run
/// one at a time in the order they were enqueued. One thread serves every `JobManager` of the process (tests make
/// many; each is still isolated, they just never run at the same time).
final class ManagerThread: SerialExecutor, Sendable {
    static let shared = ManagerThread()

    private let jobs = Mutex<[UnownedJob]>([])
    private let wake = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in runJobs() }
        thread.name = "job-manager"
        thread.start()
    }

    /// Called by the Swift runtime, from any thread, with work for an actor on this executor.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        wake.signal()
    }

    /// The thread's loop: waits for work and runs what has arrived, in order. Never returns.
    private func runJobs() {
        let executor = asUnownedSerialExecutor()
        while true {
            wake.wait()
            let batch = jobs.withLock { jobs in
                defer { jobs.removeAll(keepingCapacity: true) }
                return jobs
            }
            for job in batch { job.runSynchronously(on: executor) }
        }
    }
}
