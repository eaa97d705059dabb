import Foundation
import JobqCore
import JobqSQLite
import JobqStore
import JobqTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SPEC §2: starting, draining on SIGTERM, recovering from SIGKILL, one daemon per database.
@Suite("Daemon lifecycle")
struct LifecycleTests {
    @Test("SIGTERM: the running job finishes during the drain, buffered jobs go back unclaimed, exit 0")
    func drainLetsRunningJobFinish() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon(["--drain-timeout": "60s"])
            try await scenario.succeed(["queue", "set", "drained", "--concurrency", "1"])
            let running = try await scenario.addShell(
                "while [ ! -e go ]; do sleep 0.02; done; touch finished", options: ["--queue", "drained"])
            try await scenario.waitUntilRunning(running)
            var buffered: [JobID] = []
            for index in 0..<3 {
                buffered.append(try await scenario.addShell("touch ran.\(index)", options: ["--queue", "drained"]))
            }
            for id in buffered {
                try await scenario.waitForJob(id, "to be taken into memory") { $0.claimed }
            }

            daemon.process.send(SIGTERM)
            try await daemon.waitForNotification("STOPPING=1")
            // The job cannot end before `go` exists, so the daemon must still be draining.
            #expect(!daemon.hasExited)
            scenario.touch("go")
            let exit = try await daemon.waitForExit()
            #expect(exit.exitStatus == 0, "\(exit.termination)")

            let finished = try await scenario.job(running)
            #expect(finished.state == .succeeded && finished.attempts == 1, "\(Scenario.summary(finished))")
            #expect(scenario.exists("finished"))
            for (index, id) in buffered.enumerated() {
                let job = try await scenario.job(id)
                #expect(job.state == .pending && !job.claimed && job.attempts == 0, "\(Scenario.summary(job))")
                #expect(!scenario.exists("ran.\(index)"))
            }
        }
    }

    @Test("SIGTERM with a short drain timeout stops a long job; it goes back to pending and runs after restart")
    func drainTimeoutInterruptsLongJob() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon(["--drain-timeout": "200ms"])
            let id = try await scenario.addShell(
                #"echo "$JOBQ_ATTEMPT" >> attempts; if [ "$JOBQ_ATTEMPT" = 1 ]; then exec sleep 30; fi"#)
            try await scenario.waitUntilRunning(id)
            try await scenario.waitFor("the first attempt to start") { scenario.read("attempts") == "1\n" }

            let exit = try await daemon.terminate()
            #expect(exit.exitStatus == 0, "\(exit.termination)")
            #expect(daemon.notifications.hasReceived("STOPPING=1"))
            let interrupted = try await scenario.job(id)
            #expect(interrupted.state == .pending, "\(Scenario.summary(interrupted))")
            #expect(interrupted.attempts == 1)
            #expect(interrupted.failures == 0)
            #expect(!interrupted.claimed)

            try await scenario.startDaemon()
            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            #expect(job.attempts == 2)
            #expect(job.failures == 0)
            #expect(scenario.read("attempts") == "1\n2\n")
        }
    }

    @Test("status says which jobqd serves the database, and that none does once it stopped")
    func statusNamesTheDaemon() async throws {
        func daemonInStatus(_ scenario: Scenario) async throws -> [String: Any] {
            let status = try await scenario.succeed(["status", "--json"])
            let document = try JSONSerialization.jsonObject(with: Data(status.stdout)) as? [String: Any]
            return try #require(document?["daemon"] as? [String: Any], "\(status)")
        }
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon()
            let running = try await daemonInStatus(scenario)
            #expect(running["running"] as? Bool == true && running["pid"] as? Int == Int(daemon.process.pid))
            let human = try await scenario.succeed(["status"]).stdoutText
            #expect(human.hasPrefix("jobqd (pid \(daemon.process.pid)) serves "), "\(human)")

            _ = try await daemon.terminate()
            let stopped = try await daemonInStatus(scenario)
            #expect(stopped["running"] as? Bool == false && stopped["pid"] is NSNull)
        }
    }

    /// SIGHUP too: a `jobqd` started by hand whose terminal closes must stop cleanly, not die
    /// with its jobs left running until the next start.
    @Test(
        "A second stop signal ends the drain at once: the running job is stopped and goes back to pending",
        arguments: [(SIGTERM, SIGINT), (SIGHUP, SIGHUP)])
    func secondSignalEndsDrain(first: Int32, second: Int32) async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon(["--drain-timeout": "1h"])
            let id = try await scenario.addShell("exec sleep 600")
            try await scenario.waitUntilRunning(id)

            daemon.process.send(first)
            try await daemon.waitForNotification("STOPPING=1")
            #expect(!daemon.hasExited)
            daemon.process.send(second)
            let exit = try await daemon.waitForExit()
            #expect(exit.exitStatus == 0, "\(exit.termination)")
            #expect(daemon.log.contains("asked to stop again"), "\(daemon.log)")
            let job = try await scenario.job(id)
            #expect(job.state == .pending && job.attempts == 1 && job.failures == 0, "\(Scenario.summary(job))")
            #expect(!job.claimed)
        }
    }

    @Test("a reader of jobqd's log that goes away does not kill it (SIGPIPE), and its jobs still get SIGPIPE")
    func logReaderGoesAway() async throws {
        try await withScenario { scenario in
            let jobqd = try Binaries.path(of: "jobqd")
            // The reader takes the first byte of the log and leaves; every later line meets a
            // closed pipe. The subshell ends at once and leaves jobqd running on its own.
            let started = try await runProcess(
                "/bin/sh",
                [
                    "-c",
                    "('\(jobqd)' --db '\(scenario.database)' 2>&1 | head -c 1 >/dev/null) </dev/null >/dev/null 2>&1 &",
                ],
                environment: scenario.environment())
            #expect(started.exitStatus == 0, "\(started)")
            func daemon() async throws -> Int? {
                let status = try await scenario.succeed(["status", "--json"])
                let document = try JSONSerialization.jsonObject(with: Data(status.stdout)) as? [String: Any]
                return (document?["daemon"] as? [String: Any])?["pid"] as? Int
            }
            try await scenario.waitFor("jobqd to serve the database") { try await daemon() != nil }
            let pid = try #require(try await daemon())
            // Killed on the way out only while it is known to run: once it has stopped, its pid may
            // be another process's.
            var stopped = false
            defer { if !stopped { kill(pid_t(pid), SIGKILL) } }
            // A job still dies of SIGPIPE: the daemon's ignoring it is not passed on (a shell cannot
            // undo a signal ignored when it started, so this one would sleep on).
            let id = try await scenario.add(["true"])
            let piped = try await scenario.addShell("kill -s PIPE $$; sleep 5")
            #expect(try await scenario.waitUntilFinished(id).state == .succeeded)
            let killed = try await scenario.waitUntilFinished(piped)
            #expect(killed.signal == Int(SIGPIPE), "\(Scenario.summary(killed))")
            // Each job logged its start and finish into the closed pipe.
            #expect(try await daemon() == pid, "jobqd died")
            kill(pid_t(pid), SIGTERM)
            try await scenario.waitFor("jobqd to stop") { try await daemon() == nil }
            stopped = true
        }
    }

    /// Before, it served the deleted file on: every job enqueued meanwhile went into a new file
    /// of that name, which a second jobqd then took (the lock file was gone too).
    @Test("a database deleted under jobqd stops it (exit 1) with its jobs, so that a restart serves the new file")
    func databaseDeletedUnderTheDaemon() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon()
            let id = try await scenario.addShell("echo $$ > pid; exec sleep 600")
            try await scenario.waitUntilRunning(id)
            let pid = try await scenario.waitForPID(in: "pid")
            for suffix in ["", "-wal", "-shm"] { unlink(scenario.database + suffix) }
            let exit = try await daemon.waitForExit()
            #expect(exit.exitStatus == 1, "\(exit.termination)")
            #expect(daemon.log.contains("the database was deleted or replaced while jobqd served it"), "\(daemon.log)")
            try await scenario.waitFor("the job's process to be stopped") { !isAlive(pid) }

            // A new database at the path is served by a new daemon as usual.
            try await scenario.startDaemon()
            let fresh = try await scenario.add(["true"])
            let rows = try await scenario.succeed(["wait", String(fresh)])
            #expect(rows.exitStatus == 0)
        }
    }

    @Test("SIGKILL mid-run: the restarted daemon stops the leftover group first, then reruns the job")
    func crashRecovery() async throws {
        try await withScenario { scenario in
            let crashed = try await scenario.startDaemon()
            let script = #"""
                echo "$JOBQ_ATTEMPT" >> attempts
                if [ "$JOBQ_ATTEMPT" = 1 ]; then sleep 30 & echo $! > grandchild.pid; wait; fi
                """#
            let id = try await scenario.addShell(script)
            let running = try await scenario.waitUntilRunning(id)
            let group = try #require(running.process?.processGroup)
            let grandchild = try await scenario.waitForPID(in: "grandchild.pid")

            try await crashed.kill()
            // Nobody stopped the job: its group outlives the daemon.
            #expect(isAlive(grandchild))
            #expect(!isGroupGone(group))
            #expect(try await scenario.job(id).state == .running)

            let restarted = try await scenario.startDaemon()
            // READY=1 comes after recovery, which stops the leftovers before any job runs again.
            #expect(!isAlive(grandchild))
            #expect(isGroupGone(group))

            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            #expect(job.attempts == 2)
            #expect(job.failures == 0)
            #expect(scenario.read("attempts") == "1\n2\n")
            #expect(restarted.log.contains("recovered"), "\(restarted.log)")
        }
    }

    @Test("SIGTERM during start-up: recovery still stops the leftover group, then jobqd exits 0 without taking work")
    func sigtermDuringStartUp() async throws {
        try await withScenario { scenario in
            let crashed = try await scenario.startDaemon()
            // The job ignores SIGTERM, so recovery takes the whole kill grace to stop it.
            let id = try await scenario.addShell(#"trap '' TERM; echo $$ > leader.pid; sleep 30"#)
            _ = try await scenario.waitUntilRunning(id)
            let leader = try await scenario.waitForPID(in: "leader.pid")
            try await crashed.kill()

            let restarted = try await scenario.startDaemon(["--kill-grace": "2s"], waitUntilReady: false)
            try await scenario.waitFor("the restarted daemon to log its start") { restarted.log.contains("starting") }
            let result = try await restarted.terminate()
            #expect(result.exitStatus == 0, "\(result)")
            #expect(!isAlive(leader))
            #expect(!restarted.isReady)
            #expect(restarted.notifications.hasReceived("STOPPING=1"))
            #expect(restarted.log.contains("stopping before taking work"), "\(restarted.log)")
            let job = try await scenario.job(id)
            #expect(job.state == .pending)
            #expect(job.attempts == 1)
        }
    }

    @Test("after a crash, recovery also stops what a job started outside its process group (setsid)")
    func crashRecoveryStopsEscapedProcesses() async throws {
        try await withScenario { scenario in
            let crashed = try await scenario.startDaemon()
            let id = try await scenario.addShell(
                #"""
                if [ "$JOBQ_ATTEMPT" = 1 ]; then
                    setsid sh -c 'echo $$ > escaped.tmp; mv escaped.tmp escaped.pid; exec sleep 30' &
                    sleep 30
                fi
                """#)
            _ = try await scenario.waitUntilRunning(id)
            let escaped = try await scenario.waitForPID(in: "escaped.pid")
            try await crashed.kill()
            #expect(isAlive(escaped))

            // READY=1 comes after recovery.
            try await scenario.startDaemon()
            #expect(!isAlive(escaped))
            #expect(try await scenario.waitUntilFinished(id).state == .succeeded)
        }
    }

    @Test("a crash between starting a job and recording its process: recovery finds the process by its JOBQ_ marks")
    func crashBeforeTheProcessWasRecorded() async throws {
        try await withScenario { scenario in
            let id = try await scenario.addShell(#"echo "$JOBQ_ATTEMPT" >> attempts"#)
            // What a daemon killed right after spawning attempt 1 leaves: the job `running`
            // with no process recorded, and the process alive in a session of its own.
            let dead = try await JobStore(path: scenario.database, durability: .normal, ringsDoorbell: false)
            #expect(try await dead.claim(queue: "default", limit: 1).map(\.id) == [id])
            #expect(try await dead.markRunning([(id: id, attempt: 1, startedAt: .now(), process: nil)]) == [id])
            var environment = scenario.environment()
            environment["JOBQ_DB"] = scenario.database
            environment["JOBQ_JOB_ID"] = String(id)
            environment["JOBQ_ATTEMPT"] = "1"
            let leftover = try ChildProcess.launch(
                "/usr/bin/setsid", ["/bin/sh", "-c", "echo $$ > leftover.pid; exec sleep 300"],
                environment: environment, currentDirectory: scenario.directory)
            defer { leftover.send(SIGKILL) }
            let pid = try await scenario.waitForPID(in: "leftover.pid")
            #expect(isAlive(pid))

            try await scenario.startDaemon()
            // READY=1 comes after recovery, which stopped it before the job runs again.
            #expect(!isAlive(pid))
            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            #expect(job.attempts == 2)
            #expect(scenario.read("attempts") == "2\n")
        }
    }

    @Test("jobs get JOBQ_DB, so a job's own jobq add reaches the same database")
    func jobsEnqueueFollowUps() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            let jobq = try Binaries.path(of: "jobq")
            let id = try await scenario.addShell(
                #"'\#(jobq)' add --queue follow -- sh -c 'echo "$JOBQ_DB" > followed'"#)
            #expect(try await scenario.waitUntilFinished(id).state == .succeeded)
            try await scenario.waitFor("the follow-up ran") { scenario.read("followed") == scenario.database + "\n" }
        }
    }

    @Test("SIGKILL again and again mid-run: no job is lost, and only jobs running at a kill run twice")
    func repeatedCrashes() async throws {
        try await withScenario { scenario in
            let count = 24
            var ids: [JobID] = []
            for _ in 0..<count {
                ids.append(try await scenario.addShell(#"echo "$JOBQ_JOB_ID" >> runs; sleep 0.1"#))
            }
            var kills = 0
            var succeededBefore = 0
            while kills < 4 {
                let daemon = try await scenario.startDaemon()
                var stats: (succeeded: Int, running: Int) = (0, 0)
                // Kill it once it made progress and while jobs run (unless it is already done).
                try await scenario.waitFor("progress since the last kill") {
                    let all = try await scenario.store.queueStats(queue: "default").first
                    stats = (all?.succeeded ?? 0, all?.running ?? 0)
                    return (stats.succeeded > succeededBefore && stats.running > 0) || stats.succeeded == count
                }
                try await daemon.kill()
                kills += 1
                succeededBefore = stats.succeeded
                if stats.succeeded == count { break }
            }
            try await scenario.startDaemon()
            let joined = try await scenario.jobq(["join", "--timeout", "60s"])
            #expect(joined.exitStatus == 0, "\(joined)")

            let runs = scenario.read("runs").split(separator: "\n").compactMap { JobID($0) }
            var rerun = 0
            for id in ids {
                let job = try await scenario.job(id)
                #expect(job.state == .succeeded && job.failures == 0, "job \(id): \(Scenario.summary(job))")
                let started = runs.filter { $0 == id }.count
                // A run killed by the recovery before its first line leaves no trace.
                #expect(
                    started >= 1 && started <= job.attempts, "job \(id) ran \(started) times, attempts \(job.attempts)")
                rerun += job.attempts - 1
            }
            // Each kill interrupts at most the jobs running then: the queue's concurrency (2).
            #expect(rerun <= kills * 2, "\(rerun) extra attempts after \(kills) kills")
        }
    }

    @Test("under a watchdog it sends WATCHDOG=1; it reports STATUS= and STOPPING=1")
    func systemdNotifications() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon(environment: ["WATCHDOG_USEC": "200000"])
            try await daemon.waitForNotification("WATCHDOG=1")
            let id = try await scenario.addShell("true")
            #expect(try await scenario.waitUntilFinished(id).state == .succeeded)
            // The STATUS= line carries counts (`systemctl status` shows it).
            try await waitUntil("a STATUS= line counting the success", timeout: .seconds(30)) {
                daemon.notifications.assignments.contains { $0.hasPrefix("STATUS=") && $0.contains("1 succeeded") }
            }
            let exit = try await daemon.terminate()
            #expect(exit.exitStatus == 0, "\(exit.termination)")
            let sent = daemon.notifications.assignments
            let ready = try #require(sent.firstIndex(of: "READY=1"))
            let stopping = try #require(sent.firstIndex(of: "STOPPING=1"), "\(sent)")
            #expect(ready < stopping)
        }
    }

    @Test("a second daemon on the same database exits non-zero naming it, and the first keeps working")
    func secondDaemonRefused() async throws {
        try await withScenario { scenario in
            let first = try await scenario.startDaemon()
            let second = try await scenario.startDaemon(waitUntilReady: false)
            let exit = try await second.waitForExit()
            #expect(exit.exitStatus != 0 && exit.exitStatus != nil, "\(exit.termination)")
            #expect(!second.notifications.hasReceived("READY=1"))
            let message = second.log
            #expect(message.contains(scenario.database), "\(message)")
            #expect(message.lowercased().contains("lock") || message.lowercased().contains("another"), "\(message)")

            let id = try await scenario.addShell("true")
            #expect(try await scenario.waitUntilFinished(id).state == .succeeded)
            #expect(!first.hasExited)
        }
    }

    @Test("a lock still held after its daemon died (by a child it was spawning) delays the start instead of failing it")
    func lockHeldByDeadDaemonsChild() async throws {
        try await withScenario { scenario in
            // The lock file names a daemon that is gone: pid_max itself, which no process can have
            // (the pid of an exited process could be reused by the time jobqd looks, as tests run in parallel).
            let pidMax = try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let lockPath = scenario.database + ".lock"
            #expect(FileManager.default.createFile(atPath: lockPath, contents: Data("\(pidMax)\n".utf8)))
            // …while another process still holds the lock, as the not yet exec'd child of a killed daemon does.
            let holder = try ChildProcess.launch(
                "/usr/bin/flock",
                [
                    "--exclusive", lockPath, "/bin/sh", "-c",
                    "touch locked; while [ ! -e release ]; do sleep 0.01; done",
                ],
                currentDirectory: scenario.directory)
            do {
                try await scenario.waitFor("flock to hold the lock") { scenario.exists("locked") }
                let daemon = try await scenario.startDaemon(waitUntilReady: false)
                try await scenario.waitFor("jobqd to wait for the lock") {
                    daemon.log.contains("its daemon is gone") || daemon.hasExited
                }
                #expect(!daemon.hasExited, "\(daemon.log)")
                scenario.touch("release")
                try await daemon.waitUntilReady()
                let released = try await holder.waitForExit(timeout: .seconds(30))
                #expect(released.exitStatus == 0)
            } catch {
                kill(-holder.pid, SIGKILL)
                throw error
            }
        }
    }

    static let usageErrors: [[String]] = [
        ["--db", ""],
        ["--concurrency", "0"],
        ["--concurrency=-2"],
        ["--concurrency", "-1"],
        ["--capacity", "many"],
        ["--drain-timeout", "soon"],
        ["--kill-grace", "-1s"],
        ["--durability", "maybe"],
        ["--log-level", "loud"],
        ["--frobnicate"],
        ["extra"],
    ]

    @Test("jobqd usage errors exit 64 with a hint and open no database, not even the default", arguments: usageErrors)
    func usageError(arguments: [String]) async throws {
        try await withTemporaryDirectory { home in
            let environment = ["HOME": home, "XDG_STATE_HOME": home + "/state", "PATH": "/usr/bin:/bin"]
            let result = try await runProcess(
                try Binaries.path(of: "jobqd"), arguments, environment: environment, timeout: .seconds(30))
            #expect(result.exitStatus == 64, "\(arguments): \(result)")
            #expect(result.stderrText.contains("jobqd --help"), "\(result.stderrText)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: home).isEmpty, "\(arguments) created files")
        }
    }

    @Test("a database path with bytes that are not UTF-8, in --db or JOBQ_DB, is refused rather than changed")
    func databasePathNotUTF8() async throws {
        try await withTemporaryDirectory { home in
            let environment = ["HOME": home, "XDG_STATE_HOME": home + "/state", "PATH": "/usr/bin:/bin"]
            let jobqd = "'\(try Binaries.path(of: "jobqd"))'"
            let argument = try await runProcess(
                "/bin/sh", ["-c", #"\#(jobqd) --db "$(printf 'a\377.db')""#], environment: environment,
                currentDirectory: home, timeout: .seconds(30))
            #expect(argument.exitStatus == 64, "\(argument)")
            #expect(argument.stderrText.contains("argument 2 is not valid UTF-8"), "\(argument)")
            let variable = try await runProcess(
                "/bin/sh", ["-c", #"JOBQ_DB="$(printf 'b\377.db')" \#(jobqd)"#], environment: environment,
                currentDirectory: home, timeout: .seconds(30))
            #expect(variable.exitStatus == 1, "\(variable)")
            #expect(variable.stderrText.contains("$JOBQ_DB is not valid UTF-8"), "\(variable)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: home).isEmpty)
        }
    }

    @Test("jobqd refuses a database others may read or write: SQLite would give its -wal and -shm the same mode")
    func databaseOpenToOthers() async throws {
        try await withScenario { scenario in
            _ = try await scenario.add(["true"])
            #expect(chmod(scenario.database, 0o644) == 0)
            let refused = try await runProcess(
                try Binaries.path(of: "jobqd"), ["--db", scenario.database], timeout: .seconds(30))
            #expect(refused.exitStatus == 1, "\(refused)")
            #expect(refused.stderrText.contains("(mode 0644)"), "\(refused.stderrText)")
            #expect(refused.stderrText.contains("chmod o-rwx"), "\(refused.stderrText)")
            // A directory given as the database is refused for what it is, not for its mode.
            let directory = scenario.path("a-directory")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            #expect(chmod(directory, 0o755) == 0)
            let notAFile = try await runProcess(
                try Binaries.path(of: "jobqd"), ["--db", directory], timeout: .seconds(30))
            #expect(notAFile.exitStatus == 1, "\(notAFile)")
            #expect(notAFile.stderrText.contains("not a regular file"), "\(notAFile.stderrText)")
            // A group may share it (a setgid directory gives 0660): only others are refused.
            #expect(chmod(scenario.database, 0o660) == 0)
            try await scenario.startDaemon()
            let attributes = try FileManager.default.attributesOfItem(atPath: scenario.database + "-wal")
            #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o007 } == 0)
        }
    }

    @Test("jobqd waits for a database another process keeps locked past the busy timeout, then serves it")
    func startsOnceTheDatabaseIsUnlocked() async throws {
        try await withScenario { scenario in
            let id = try await scenario.add(["true"])
            let other = try Connection(path: scenario.database)
            try other.execute("BEGIN IMMEDIATE")
            let daemon = try await scenario.startDaemon(waitUntilReady: false)
            try await scenario.waitFor("jobqd to find the database locked") {
                daemon.log.contains("the database is locked by another process; retrying")
            }
            #expect(!daemon.hasExited)
            try other.execute("COMMIT")
            try await daemon.waitUntilReady()
            #expect(try await scenario.waitUntilFinished(id).state == .succeeded)
        }
    }

    @Test("jobqd on a file that is not SQLite exits non-zero with one error line naming it and leaves it unchanged")
    func unusableDatabase() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/not-a-database.db"
            let contents = Array(String(repeating: "this is not a database, just text\n", count: 200).utf8)
            #expect(FileManager.default.createFile(atPath: path, contents: Data(contents)))
            #expect(chmod(path, 0o600) == 0)

            let result = try await runProcess(
                try Binaries.path(of: "jobqd"), ["--db", path, "--log-level", "info"], timeout: .seconds(30))
            #expect(result.exitStatus != 0 && result.exitStatus != nil, "\(result)")
            // The start-up line, then the reason.
            let lines = result.stderrText.split(separator: "\n")
            #expect(lines.count == 2, "\(result.stderrText)")
            #expect(lines.first?.contains("info jobqd: starting") == true, "\(result.stderrText)")
            #expect(lines.last?.contains("critical") == true && lines.last?.contains(path) == true, "\(lines)")
            let after = try #require(FileManager.default.contents(atPath: path))
            #expect(Array(after) == contents)
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
    }
}
