import JobqReliability
import JobqSQLite
import JobqTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("recovery after a crash")
struct RecoveryTests {
    /// Regression (found by the crash soak): a daemon killed between spawning a job and writing
    /// the job's process record left a `running` row without a process group; the next daemon
    /// could not stop what that run left behind, so the old process was still running when the
    /// job ran again.
    @Test("a run whose process was never recorded is still stopped before the daemon is ready")
    func unrecordedProcessIsStopped() async throws {
        try await withWorkspace { workspace in
            let id = try await workspace.add(["--", "true"])
            // What a daemon killed right after the spawn leaves: the row running, no process recorded...
            let connection = try Connection(path: workspace.database)
            try connection.execute("UPDATE jobs SET state = 'running', attempts = 1 WHERE id = \(id)")
            // ...and the job's process, in its own group, with the environment jobqd gives it.
            var environment = Workspace.environment
            environment["JOBQ_DB"] = workspace.database
            environment["JOBQ_JOB_ID"] = String(id)
            environment["JOBQ_ATTEMPT"] = "1"
            let leftover = try ChildProcess.launch("/bin/sh", ["-c", "sleep 300; true"], environment: environment)
            // A process of another database with the same job id and attempt is not ours to stop.
            environment["JOBQ_DB"] = workspace.directory + "/other.db"
            let stranger = try ChildProcess.launch("/bin/sh", ["-c", "sleep 300; true"], environment: environment)
            defer { kill(-stranger.pid, SIGKILL) }

            _ = try await withDaemon(database: workspace.database, directory: workspace.directory) { _ in
                let stopped = try await leftover.waitForExit(timeout: .seconds(15))
                #expect(stopped.termination == .signalled(SIGTERM), "\(stopped)")
                #expect(!stranger.hasExited)
                let store = try await workspace.store()
                try await workspace.waitUntilAllEnded(store)
                let job = try #require(try await store.job(id))
                #expect(job.state == .succeeded && job.attempts == 2)
            }
            stranger.send(SIGKILL)
            _ = try await stranger.waitForExit(timeout: .seconds(15))
        }
    }
}
