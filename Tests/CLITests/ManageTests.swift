import Foundation
import JobqSQLite
import JobqTestSupport
import Testing

@Suite("status, list, cancel, retry, pause, resume, queue, purge")
struct ManageTests {
    @Test("status --json has every key with the documented types")
    func statusShape() async throws {
        try await withCLI { (cli: CLI) async throws in
            _ = try await cli.add(["--queue", "a", "true"])
            _ = try await cli.add(["--queue", "a", "true"])
            _ = try await cli.add(["--queue", "b", "true"])
            try await cli.succeed(["pause", "b"])
            try await cli.succeed([
                "queue", "set", "a", "--concurrency", "4", "--capacity", "100", "--idle-timeout", "30s",
            ])
            let queues = try await cli.status()
            let a = try #require(queues["a"])
            #expect(
                Set(a.keys) == [
                    "name", "pending", "running", "succeeded", "failed", "cancelled", "paused", "concurrency",
                    "capacity",
                ])
            #expect(a["pending"] as? Int == 2)
            #expect(a["running"] as? Int == 0)
            #expect(a["paused"] as? Bool == false)
            let raw = try await cli.succeed(["status", "--json"]).stdoutText
            #expect(raw.contains("\"paused\":false") && raw.contains("\"paused\":true"), "paused is a JSON boolean")
            // No daemon serves this database.
            #expect(raw.hasSuffix(",\"daemon\":{\"running\":false,\"pid\":null}}\n"), "\(raw)")
            #expect(a["concurrency"] as? Int == 4)
            #expect(a["capacity"] as? Int == 100)
            let b = try #require(queues["b"])
            #expect(b["paused"] as? Bool == true)
            #expect(b["concurrency"] is NSNull)
            #expect(b["capacity"] is NSNull)

            try await cli.succeed(["resume", "b"])
            try await cli.succeed(["queue", "set", "a", "--concurrency", "default"])
            let after = try await cli.status()
            #expect(after["b"]?["paused"] as? Bool == false)
            #expect(after["a"]?["concurrency"] is NSNull)
            #expect(after["a"]?["capacity"] as? Int == 100)

            let show = try await cli.succeed(["queue", "show", "a", "--json"])
            #expect(
                show.stdoutText
                    == "{\"queues\":[{\"name\":\"a\",\"paused\":false,\"concurrency\":null,\"capacity\":100,\"idle_timeout_ms\":30000}]}\n"
            )
            let human = try await cli.succeed(["status"])
            let lines = human.stdoutText.split(separator: "\n")
            #expect(lines.count == 4)
            #expect(lines[0] == "no jobqd serves \(cli.database): pending jobs wait until one starts")
            #expect(lines[1].hasPrefix("QUEUE"))
            #expect(Set(lines.dropFirst().map(\.count)).count == 1, "columns are aligned: \(human.stdoutText)")
            let filtered = try await cli.succeed(["status", "--queue", "b", "--json"])
            #expect(filtered.stdoutText.contains("\"name\":\"b\"") && !filtered.stdoutText.contains("\"name\":\"a\""))
        }
    }

    @Test("queue takes --db before its subcommand too, not as the name of a queue to show")
    func queueDatabaseBeforeSubcommand() async throws {
        try await withCLI { (cli: CLI) async throws in
            // Through --db only: $JOBQ_DB names another database.
            let database = cli.directory + "/other.db"
            try await cli.succeed(["queue", "--db", database, "set", "q", "--capacity", "7"])
            let show = try await cli.succeed(["queue", "--db=\(database)", "--db", database, "show", "q", "--json"])
            #expect(show.stdoutText.contains("\"name\":\"q\",\"paused\":false,\"concurrency\":null,\"capacity\":7"))
            // A queue may still be named like a subcommand, as the argument of show.
            let named = try await cli.run(["queue", "--db", database, "show", "set", "--json"])
            #expect(named.exitStatus == 0 && named.stdoutText == "{\"queues\":[]}\n", "\(named)")
            #expect(!cli.databaseExists)
        }
    }

    @Test("list: newest first, filters, limit, and the JSON keys of show")
    func list() async throws {
        try await withCLI { (cli: CLI) async throws in
            for queue in ["a", "b", "a", "a"] { _ = try await cli.add(["--queue", queue, "true"]) }
            try await cli.succeed(["cancel", "1"])
            let all = try await cli.succeed(["list", "--json"])
            let jobs = try #require(try JSONSerialization.jsonObject(with: Data(all.stdout)) as? [[String: Any]])
            #expect(jobs.map { $0["id"] as? Int } == [4, 3, 2, 1])
            // Every column of `jobs` by its name (the output tails as `stdout` and `stderr`), plus
            // `command` and `dependencies` — read from the schema, so a new column cannot be missed.
            let columns = try Connection(path: cli.database).tableColumns("jobs")
            try #require(columns.contains("exit_code"))
            let expected = Set(columns.map { ["stdout_tail": "stdout", "stderr_tail": "stderr"][$0] ?? $0 })
                .union(["command", "dependencies"])
            #expect(Set(jobs[0].keys) == expected)
            let limited = try await cli.succeed([
                "list", "--queue", "a", "--state", "pending", "--limit", "1", "--json",
            ])
            let one = try #require(try JSONSerialization.jsonObject(with: Data(limited.stdout)) as? [[String: Any]])
            #expect(one.map { $0["id"] as? Int } == [4])
            // --state repeats: jobs in any of the states given (job 1 is cancelled, the rest pending).
            func ids(_ arguments: [String]) async throws -> [Int] {
                let output = try await cli.succeed(["list", "--json"] + arguments).stdout
                let jobs = try #require(try JSONSerialization.jsonObject(with: Data(output)) as? [[String: Any]])
                return jobs.compactMap { $0["id"] as? Int }
            }
            #expect(try await ids(["--state", "cancelled"]) == [1])
            #expect(try await ids(["--state", "cancelled", "-s", "pending"]) == [4, 3, 2, 1])
            #expect(try await ids(["--state", "cancelled", "--state", "failed", "--queue", "b"]) == [])
            let human = try await cli.succeed(["list", "-n", "0"])
            #expect(human.stdoutText.split(separator: "\n").count == 5)
            #expect(human.stdoutText.contains("cancelled"))
        }
    }

    @Test("show prints the fields for people")
    func showHuman() async throws {
        try await withCLI { (cli: CLI) async throws in
            _ = try await cli.add(["--queue", "q", "--timeout", "5m", "--", "echo", "hello world"])
            let text = try await cli.succeed(["show", "1"]).stdoutText
            #expect(text.hasPrefix("job 1\n"))
            #expect(text.contains("pending"))
            #expect(text.contains("echo 'hello world'"))
            #expect(text.contains("5m"))
            #expect(!text.contains("\u{1B}["), "no colour outside a terminal")
        }
    }

    @Test("cancel a pending job; wait then exits 1; retry puts it back; purge deletes finished jobs")
    func cancelRetryPurge() async throws {
        try await withCLI { (cli: CLI) async throws in
            let id = try await cli.add(["sleep", "100"])
            let dependent = try await cli.add(["--after", String(id), "true"])
            #expect(try await cli.succeed(["cancel", String(id)]).stdoutText == "\(id) cancelled\n")
            #expect(try await cli.show(id)["state"] as? String == "cancelled")
            #expect(try await cli.show(dependent)["state"] as? String == "cancelled")
            #expect(try await cli.succeed(["cancel", String(id)]).stdoutText == "\(id) already cancelled\n")

            let wait = try await cli.run(["wait", String(id)])
            #expect(wait.exitStatus == 1)
            #expect(wait.stderrText == "jobq: job \(id) cancelled\n")

            let badRetry = try await cli.run(["retry", String(id), "999"])
            #expect(badRetry.exitStatus == 1)
            #expect(try await cli.show(id)["state"] as? String == "cancelled", "retry is all or nothing")

            #expect(
                try await cli.succeed(["retry", String(id), String(dependent)]).stdoutText
                    == "\(id) pending\n\(dependent) pending\n")
            #expect(try await cli.show(dependent)["state"] as? String == "pending")
            let notFinished = try await cli.run(["retry", String(id)])
            #expect(notFinished.exitStatus == 1)
            #expect(notFinished.stderrText.contains("is pending"))

            #expect(
                try await cli.succeed(["cancel", "--queue", "default"]).stdoutText
                    == "cancelled 2 jobs in queue default\n")
            #expect(try await cli.succeed(["purge", "--older-than", "1h"]).stdoutText == "purged 0 jobs\n")
            #expect(try await cli.succeed(["purge", "--state", "succeeded"]).stdoutText == "purged 0 jobs\n")
            #expect(try await cli.succeed(["purge", "--state", "cancelled"]).stdoutText == "purged 2 jobs\n")
            #expect(try await cli.succeed(["list", "--json"]).stdoutText == "[]\n")
            #expect(try await cli.run(["show", String(id)]).exitStatus == 1)
        }
    }

    @Test("retry --dependents takes along the jobs the cascade cancelled, not those a user cancelled")
    func retryWithDependents() async throws {
        try await withCLI { (cli: CLI) async throws in
            let first = try await cli.add(["true"])
            let second = try await cli.add(["--after", String(first), "true"])
            let third = try await cli.add(["--after", String(second), "true"])
            let mine = try await cli.add(["--after", String(first), "true"])
            try await cli.succeed(["cancel", String(mine)])
            // Cancelling the first cascades down the pipeline.
            try await cli.succeed(["cancel", String(first)])
            #expect(try await cli.show(third)["error"] as? String == "dependency \(first) was cancelled")

            let result = try await cli.succeed(["retry", "--dependents", String(first)])
            #expect(result.stdoutText == "\(first) pending\n\(second) pending\n\(third) pending\n")
            #expect(try await cli.show(third)["unmet_deps"] as? Int == 1)
            #expect(try await cli.show(mine)["state"] as? String == "cancelled")
        }
    }

    @Test("retry refuses, changing nothing, a job whose other dependency stays cancelled")
    func retryBlockedByAnotherDependency() async throws {
        try await withCLI { (cli: CLI) async throws in
            let x = try await cli.add(["true"])
            let y = try await cli.add(["true"])
            let z = try await cli.add(["--after", String(x), "--after", String(y), "true"])
            try await cli.succeed(["cancel", String(x), String(y)])
            // Named: the lowest id among the dependencies that stay cancelled.
            for (arguments, blocker) in [(["retry", "--dependents", String(x)], y), (["retry", String(z)], x)] {
                let refused = try await cli.run(arguments)
                #expect(refused.exitStatus == 1, "\(arguments): \(refused)")
                #expect(
                    refused.stderrText
                        == "jobq: job \(z) depends on job \(blocker), which was cancelled; retry that one too (nothing was retried)\n",
                    "\(arguments)")
                for id in [x, y, z] { #expect(try await cli.show(id)["state"] as? String == "cancelled") }
            }
            let both = try await cli.succeed(["retry", "--dependents", String(x), String(y)])
            #expect(both.stdoutText == "\(x) pending\n\(y) pending\n\(z) pending\n")
        }
    }

    @Test("logs prints the stored output; --follow streams until the job ends")
    func logs() async throws {
        try await withCLI { (cli: CLI) async throws in
            let id = try await cli.add(["true"])
            let empty = try await cli.succeed(["logs", String(id)])
            #expect(empty.stdout.isEmpty && empty.stderr.isEmpty)

            // Play the daemon's part: the job runs and its output (tails and byte counts) is stored as it goes.
            func store(_ assignments: String) async throws {
                try await cli.sql("UPDATE jobs SET \(assignments) WHERE id = \(id)")
            }
            try await store(
                "state = 'running', attempts = 1, stdout_tail = CAST('one\n' AS BLOB), stdout_bytes = 4, "
                    + "stderr_tail = CAST('warn\n' AS BLOB), stderr_bytes = 5")
            let follower = try ChildProcess.launch(
                CLI.binary, ["logs", "--follow", String(id)], environment: cli.environment())
            func waitForOutput(_ expected: String) async throws {
                try await waitUntil("output \(expected.debugDescription)", timeout: .seconds(20)) {
                    String(decoding: follower.outputSoFar.stdout, as: UTF8.self) == expected
                }
            }
            try await waitForOutput("one\n")
            try await store("stdout_tail = CAST('one\ntwo\n' AS BLOB), stdout_bytes = 8")
            try await waitForOutput("one\ntwo\n")
            // The same lines again: the tail looks unchanged, the count says 8 more bytes came.
            try await store("stdout_bytes = 16")
            try await waitForOutput("one\ntwo\none\ntwo\n")
            // A retry starts afresh.
            try await store(
                "attempts = 2, stdout_tail = CAST('again\n' AS BLOB), stdout_bytes = 6, "
                    + "stderr_tail = NULL, stderr_bytes = 0")
            try await waitForOutput("one\ntwo\none\ntwo\nagain\n")
            #expect(!follower.hasExited)
            try await store(
                "state = 'succeeded', exit_code = 0, finished_at = 1, stdout_tail = CAST('again\nthree\n' AS BLOB), "
                    + "stdout_bytes = 12")
            let result = try await follower.waitForExit(timeout: .seconds(20))
            #expect(result.exitStatus == 0)
            #expect(result.stdoutText == "one\ntwo\none\ntwo\nagain\nthree\n")
            #expect(result.stderrText == "warn\n")

            let plain = try await cli.succeed(["logs", String(id)])
            #expect(plain.stdoutText == "again\nthree\n")
            #expect(plain.stderrText.isEmpty)
            #expect((try await cli.show(id)["stdout"] as? String) == "again\nthree\n")
        }
    }
}

extension Connection {
    /// The column names of `table`, in order.
    func tableColumns(_ table: String) throws -> [String] {
        let statement = try prepare("SELECT name FROM pragma_table_info(?1)")
        try statement.bind(table, at: 1)
        var names: [String] = []
        while try statement.step() { names.append(statement.string(at: 0) ?? "") }
        return names
    }
}
