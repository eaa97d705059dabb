import Foundation
import JobqCore
import JobqProcess
import JobqStore
import JobqTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SPEC §3: a timed-out or cancelled job's whole process group is stopped and reaped.
@Suite("Stopping jobs")
struct StoppingJobsTests {
    /// A job whose shell starts a grandchild `sleep`, writes both pids, and waits for it.
    static let familyScript = "echo $$ > main.pid; sleep 30 & echo $! > grandchild.pid; wait"

    @Test("--timeout stops the job's whole process group; the job fails saying it timed out")
    func timeout() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            // Long enough for the shell to write both pids even on a loaded machine.
            let id = try await scenario.addShell(Self.familyScript, options: ["--timeout", "1s"])
            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .failed, "\(Scenario.summary(job))")
            #expect(job.error?.contains("timed out") == true, "error: \(job.error ?? "none")")
            // How the stopped shell ended is kept too: SIGTERM, which it does not handle.
            #expect(job.signal == Int(SIGTERM) && job.exitCode == nil, "\(Scenario.summary(job))")

            // The job is over only once its group is stopped and reaped; the shell led the group.
            let group = try await scenario.waitForPID(in: "main.pid")
            let grandchild = try await scenario.waitForPID(in: "grandchild.pid")
            #expect(isGroupGone(group))
            #expect(!isAlive(grandchild))
        }
    }

    @Test("cancelling a running job kills its whole process group, grandchildren included")
    func cancelRunning() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon()
            let id = try await scenario.addShell(Self.familyScript)
            let running = try await scenario.waitUntilRunning(id)
            let group = try #require(running.process?.processGroup)
            let main = try await scenario.waitForPID(in: "main.pid")
            let grandchild = try await scenario.waitForPID(in: "grandchild.pid")
            #expect(main == group)
            #expect(isAlive(grandchild))
            // The CLI shows which process the job runs as.
            let shown = try await scenario.succeed(["show", String(id)]).stdoutText
            #expect(shown.contains("pid \(main), group \(group)"), "\(shown)")

            let cancelled = try await scenario.succeed(["cancel", String(id)])
            #expect(cancelled.stdoutText.hasPrefix("\(id) "), "\(cancelled)")

            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .cancelled, "\(Scenario.summary(job))")
            #expect(job.signal == Int(SIGTERM), "\(Scenario.summary(job))")
            #expect(isGroupGone(group))
            #expect(!isAlive(main))
            #expect(!isAlive(grandchild))
            // The daemon is a subreaper: the orphaned grandchild is its to reap, too.
            try await scenario.waitFor("jobqd to reap the job's processes") {
                unreapedChildren(of: daemon.process.pid).isEmpty
            }
        }
    }

    @Test("a process that left its job's group (setsid) is stopped once that job has ended, not before")
    func escapedProcesses() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon()
            // Each job starts `sleep` in a session of its own from a subshell that exits at once,
            // so jobqd (a subreaper) adopts it while the job itself goes on.
            func escapingJob(_ name: String, then rest: String) -> String {
                "(setsid sh -c 'echo $$ > \(name).tmp; mv \(name).tmp \(name).pid; exec sleep 30' &); "
                    + "while [ ! -e \(name).pid ]; do sleep 0.01; done; \(rest)"
            }
            func waitUntilAdopted(_ name: String) async throws -> pid_t {
                let pid = try await scenario.waitForPID(in: "\(name).pid")
                try await scenario.waitFor("jobqd to adopt \(name)") {
                    ProcessStat.read(pid: pid)?.parentPID == daemon.process.pid
                }
                return pid
            }
            let running = try await scenario.addShell(
                escapingJob("first", then: "while [ ! -e release ]; do sleep 0.01; done"))
            let first = try await waitUntilAdopted("first")
            let ended = try await scenario.addShell(escapingJob("second", then: "true"))
            // Not waited for to be adopted: its job ends at once, and the stop may come first.
            let second = try await scenario.waitForPID(in: "second.pid")
            #expect(try await scenario.waitUntilFinished(ended).state == .succeeded)
            try await scenario.waitFor("jobqd to stop the ended job's escaped process") {
                daemon.log.contains("outside its process group job.attempt=1 job.id=\(ended) ")
            }
            #expect(!isAlive(second))
            // The sweep that stopped it saw the first one too, and left it: its job still runs.
            #expect(isAlive(first))

            try Data().write(to: URL(fileURLWithPath: scenario.path("release")))
            #expect(try await scenario.waitUntilFinished(running).state == .succeeded)
            try await scenario.waitFor("the first job's escaped process to be stopped") { !isAlive(first) }
        }
    }

    @Test("cancelling a pending job takes effect before jobq cancel returns; it never runs")
    func cancelPending() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            try await scenario.succeed(["pause", "held"])
            let id = try await scenario.addShell("touch ran", options: ["--queue", "held"])

            let cancelled = try await scenario.succeed(["cancel", String(id)])
            #expect(cancelled.stdoutText == "\(id) cancelled\n")
            let job = try await scenario.job(id)
            #expect(job.state == .cancelled, "\(Scenario.summary(job))")

            try await scenario.succeed(["resume", "held"])
            // Once a later job of the same queue ran, the cancelled one had its chance to (wrongly) run.
            let probe = try await scenario.addShell("true", options: ["--queue", "held"])
            #expect(try await scenario.waitUntilFinished(probe).state == .succeeded)
            let after = try await scenario.job(id)
            #expect(after.state == .cancelled && after.attempts == 0, "\(Scenario.summary(after))")
            #expect(!scenario.exists("ran"))
        }
    }
}
