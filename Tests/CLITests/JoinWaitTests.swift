import Foundation
import JobqTestSupport
import Testing

@Suite("join and wait")
struct JoinWaitTests {
    @Test("join exits 0 at once for a missing database, an empty or unknown queue")
    func joinNothing() async throws {
        try await withCLI { (cli: CLI) async throws in
            try await cli.run(["join"], timeout: .seconds(10)).expectExit(0)
            #expect(!cli.databaseExists)
            _ = try await cli.add(["--queue", "busy", "true"])
            try await cli.run(["join", "idle-queue"], timeout: .seconds(10)).expectExit(0)
            try await cli.run(["join", "no-such-queue", "--timeout", "1h"], timeout: .seconds(10)).expectExit(0)
        }
    }

    @Test("join and wait time out with 124 while a job is pending")
    func timeouts() async throws {
        try await withCLI { (cli: CLI) async throws in
            let id = try await cli.add(["true"])
            let started = ContinuousClock.now
            let join = try await cli.run(["join", "--timeout", "200ms"], timeout: .seconds(20))
            #expect(join.exitStatus == 124, "\(join)")
            #expect(ContinuousClock.now - started >= .milliseconds(200))
            #expect(join.stderrText.hasPrefix("jobq: timed out"))
            #expect(join.stderrText.split(separator: "\n").count == 1)
            let joinQueue = try await cli.run(["join", "default", "--timeout", "0.2"], timeout: .seconds(20))
            #expect(joinQueue.exitStatus == 124)
            let wait = try await cli.run(["wait", String(id), "--timeout", "200ms"], timeout: .seconds(20))
            #expect(wait.exitStatus == 124, "\(wait)")
            #expect(wait.stderrText.contains("\(id)"))
        }
    }

    @Test("join returns promptly once the last job finishes, whatever its outcome; never draws progress into a pipe")
    func joinReturnsAfterLastJob() async throws {
        try await withCLI { (cli: CLI) async throws in
            let first = try await cli.add(["--queue", "q", "true"])
            let second = try await cli.add(["--queue", "q", "false"])
            _ = try await cli.add(["--queue", "other", "true"])
            let join = try ChildProcess.launch(CLI.binary, ["join", "q", "--progress"], environment: cli.environment())
            let waiter = try ChildProcess.launch(
                CLI.binary, ["wait", String(first), String(second)], environment: cli.environment())
            // Play the daemon: one job succeeds, the other fails.
            try await cli.sql("UPDATE jobs SET state = 'succeeded', exit_code = 0, finished_at = 1 WHERE id = \(first)")
            #expect(!join.hasExited)
            try await cli.sql("UPDATE jobs SET state = 'failed', exit_code = 1, finished_at = 1 WHERE id = \(second)")
            let lastFinished = ContinuousClock.now
            let joined = try await join.waitForExit(timeout: .seconds(20))
            // It polls at most 100 ms apart; allow for a loaded machine.
            #expect(ContinuousClock.now - lastFinished < .seconds(2))
            #expect(joined.exitStatus == 0, "\(joined)")
            #expect(joined.stderr.isEmpty && joined.stdout.isEmpty)
            let waited = try await waiter.waitForExit(timeout: .seconds(20))
            #expect(waited.exitStatus == 1)
            #expect(waited.stderrText == "jobq: job \(second) failed\n")
        }
    }

    @Test("wait exits 0 when every job succeeded")
    func waitSuccess() async throws {
        try await withCLI { (cli: CLI) async throws in
            let id = try await cli.add(["true"])
            try await cli.sql("UPDATE jobs SET state = 'succeeded', exit_code = 0, finished_at = 1 WHERE id = \(id)")
            try await cli.run(["wait", String(id), String(id)], timeout: .seconds(20)).expectExit(0)
        }
    }

    @Test("jobq add processes started at once on a database that does not exist yet all succeed")
    func concurrentFirstUse() async throws {
        try await withCLI { (cli: CLI) async throws in
            for round in 0..<10 {
                let database = cli.directory + "/first-use-\(round).db"
                let script = """
                    for i in 1 2 3 4 5 6 7 8; do '\(CLI.binary)' --db '\(database)' add true >/dev/null & done; wait
                    """
                let result = try await runProcess("/bin/sh", ["-c", script], environment: cli.environment())
                #expect(result.stderrText.isEmpty, "round \(round): \(result)")
                let status = try await cli.succeed(["--db", database, "status", "--json"])
                #expect(status.stdoutText.contains(#""pending":8"#), "round \(round): \(status)")
            }
        }
    }

    @Test("many concurrent jobq add processes lose nothing")
    func concurrentAdds() async throws {
        try await withCLI { (cli: CLI) async throws in
            let processes = 8
            let perProcess = 25
            let ids = try await withThrowingTaskGroup(of: [Int].self) { group in
                for worker in 0..<processes {
                    group.addTask {
                        var ids: [Int] = []
                        for index in 0..<perProcess {
                            ids.append(try await cli.add(["--queue", "w\(worker % 2)", "echo", "\(worker)-\(index)"]))
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(Set(ids).count == processes * perProcess)
            let queues = try await cli.status()
            #expect(
                (queues["w0"]?["pending"] as? Int ?? 0) + (queues["w1"]?["pending"] as? Int ?? 0) == processes
                    * perProcess)
        }
    }
}

extension ProcessResult {
    /// Expects this exit status, showing the whole result otherwise.
    func expectExit(_ status: Int32, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(exitStatus == status, "\(self)", sourceLocation: sourceLocation)
    }
}
