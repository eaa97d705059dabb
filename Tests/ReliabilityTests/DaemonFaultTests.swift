import Foundation
import JobqCore
import JobqReliability
import JobqSQLite
import JobqStore
import JobqTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Real faults against the real `jobqd`: a competing writer, programs that cannot be started,
/// output that fills the pipes.
@Suite("daemon under real faults")
struct DaemonFaultTests {
    @Test("a writer holding the write lock past the busy timeout: jobqd waits it out and every job runs once")
    func competingWriter() async throws {
        try await withWorkspace { workspace in
            let output = workspace.directory + "/ran.txt"
            let gate = workspace.directory + "/gate"
            let (_, exit) = try await withDaemon(database: workspace.database, directory: workspace.directory) {
                daemon in
                #expect(try await workspace.jobq(["queue", "set", "default", "--concurrency", "2"]).exitStatus == 0)
                // Each job waits for the gate, so the first two are running when the lock is taken.
                let script = "while [ ! -e \(gate) ]; do sleep 0.02; done; echo $JOBQ_JOB_ID >> \(output)"
                let batch = (0..<20).map { _ in "{\"shell\":\"\(script)\"}" }.joined(separator: "\n")
                let added = try await workspace.jobq(["add", "--batch", "-"], stdin: Array(batch.utf8))
                let ids = added.stdoutText.split(separator: "\n").compactMap { JobID($0) }
                #expect(added.exitStatus == 0 && ids.count == 20, "\(added)")
                let store = try await workspace.store()
                try await waitUntil("two jobs running", timeout: .seconds(30)) {
                    try await store.jobs(states: [.running]).count == 2
                }

                let lock = try Connection(path: workspace.database)
                try lock.execute("BEGIN IMMEDIATE")
                #expect(FileManager.default.createFile(atPath: gate, contents: nil))
                // Held until the daemon's results have waited out its busy timeout (5 s).
                try await waitUntil(
                    "jobqd to report the locked database", timeout: .seconds(60), interval: .milliseconds(50)
                ) {
                    daemon.log.contains("is locked by another process")
                }
                #expect(!daemon.hasExited)
                try lock.execute("COMMIT")

                try await workspace.waitUntilAllEnded(store)
                let jobs = try await store.jobs()
                #expect(
                    jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 },
                    "\(jobs.filter { $0.state != .succeeded })")
                #expect(workspace.appearances(in: output) == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }))
            }
            #expect(exit.exitStatus == 0, "\(exit)")
        }
    }

    @Test("a program that does not exist fails its job with the reason; the daemon goes on")
    func spawnFailure() async throws {
        try await withWorkspace { workspace in
            let marker = workspace.directory + "/after"
            _ = try await withDaemon(database: workspace.database, directory: workspace.directory) { _ in
                let missing = try await workspace.add(["--", "/nonexistent/jobq-program", "arg"])
                let missingOnPath = try await workspace.add(["--", "jobq-no-such-program-on-path"])
                let badDirectory = try await workspace.add(["--cwd", workspace.directory + "/gone", "--", "true"])
                let after = try await workspace.add(["--", "touch", marker])
                let store = try await workspace.store()
                try await workspace.waitUntilAllEnded(store)
                for id in [missing, missingOnPath, badDirectory] {
                    let job = try #require(try await store.job(id))
                    #expect(job.state == .failed && job.exitCode == nil, "\(job)")
                    #expect(job.error?.isEmpty == false, "job \(id) failed without saying why")
                }
                let missingJob = try #require(try await store.job(missing))
                #expect(missingJob.error?.contains("/nonexistent/jobq-program") == true, "\(missingJob.error ?? "")")
                #expect(try await store.job(after)?.state == .succeeded)
                #expect(FileManager.default.fileExists(atPath: marker))
            }
        }
    }

    @Test("a job writing far more than a pipe holds to stdout and stderr finishes; the tails are kept")
    func fullOutputPipes() async throws {
        try await withWorkspace { workspace in
            _ = try await withDaemon(database: workspace.database, directory: workspace.directory) { _ in
                // 8 MiB on each stream, interleaved, ending in a recognisable line.
                let script = """
                    i=0; while [ $i -lt 64 ]; do head -c 65536 /dev/zero | tr '\\0' o; head -c 65536 /dev/zero | tr '\\0' e >&2; i=$((i+1)); done; \
                    echo; echo stdout-end; echo >&2; echo stderr-end >&2
                    """
                let loud = try await workspace.add(["--shell", script])
                // Output pipes held open by a background child after the job's main process ended.
                let marker = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                defer {
                    for process in ProcessTable.processes(withEnvironment: "JOBQ_RELIABILITY_MARK", equalTo: marker) {
                        kill(process.pid, SIGKILL)
                    }
                }
                let holder = try await workspace.add([
                    "--env", "JOBQ_RELIABILITY_MARK=\(marker)", "--shell", "(sleep 300 &); yes | head -c 1000000",
                ])
                let store = try await workspace.store()
                try await workspace.waitUntilAllEnded(store, timeout: .seconds(120))
                let job = try #require(try await store.job(loud))
                #expect(job.state == .succeeded, "\(job.error ?? "")")
                #expect(job.stdout.count <= 64 * 1024 && job.stderr.count <= 64 * 1024)
                #expect(String(decoding: job.stdout.suffix(11), as: UTF8.self) == "stdout-end\n")
                #expect(String(decoding: job.stderr.suffix(11), as: UTF8.self) == "stderr-end\n")
                let held = try #require(try await store.job(holder))
                #expect(held.state == .succeeded, "\(held.error ?? "")")
                // What the job left in its process group was stopped when it ended.
                try await waitUntil("the background child to be stopped", timeout: .seconds(30)) {
                    ProcessTable.processes(withEnvironment: "JOBQ_RELIABILITY_MARK", equalTo: marker).isEmpty
                }
            }
        }
    }
}
