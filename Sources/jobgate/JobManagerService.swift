import Jobs
import QMP
import ServiceLifecycle

/// Runs the job manager's event loop as a service, until graceful shutdown.
struct JobManagerService: Service {
    let manager: JobManager
    let signals: QMPSignalQueue

    func run() async throws {
        // Loading runs while the engine starts; engine signals wait in the stream until it is done, and
        // `/readyz` says 503 until then.
        await manager.restore()
        await withDiscardingTaskGroup { group in
            group.addTask { await manager.pollProgress() }
            group.addTask { await manager.events.runHeartbeats() }
            await withGracefulShutdownHandler {
                await manager.run(signals: signals)
            } onGracefulShutdown: {
                signals.finish()
            }
            group.cancelAll()
        }
    }
}
