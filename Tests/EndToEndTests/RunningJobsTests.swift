import Foundation
import JobqCore
import JobqStore
import JobqTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SPEC §3: how a job is run — argv or shell, directory, environment, output.
@Suite("Running jobs")
struct RunningJobsTests {
    @Test("a job runs in the directory it was enqueued from, with JOBQ_* (never overridden) and --env")
    func environmentAndDirectory() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            let workdir = scenario.path("work dir")
            try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
            let script =
                #"printf '%s|%s|%s|%s|%s' "$JOBQ_JOB_ID" "$JOBQ_QUEUE" "$JOBQ_ATTEMPT" "$GREETING" "$(pwd -P)"; "#
                + #"[ "$JOBQ_DB" = "$EXPECTED_DB" ] || echo " JOBQ_DB=$JOBQ_DB""#
            // JOBQ_DB, like JOBQ_JOB_ID, is how recovery finds a crashed daemon's processes: a job cannot change it.
            let options = [
                "--queue", "alpha", "--env", "GREETING=hello world", "--env", "EXPECTED_DB=\(scenario.database)",
                "--env", "JOBQ_DB=/elsewhere/jobq.db", "--env", "JOBQ_JOB_ID=0", "--env", "JOBQ_ATTEMPT=9",
            ]
            let id = try await scenario.add(["/bin/sh", "-c", script], options: options, in: workdir)

            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            let resolved = try #require(
                realpath(workdir, nil).map { pointer in
                    defer { free(pointer) }
                    return String(cString: pointer)
                })
            #expect(String(decoding: job.stdout, as: UTF8.self) == "\(id)|alpha|1|hello world|\(resolved)")
            // The CLI shows the same captured output.
            let shown = try await scenario.show(id)
            #expect(shown["stdout"] as? String == "\(id)|alpha|1|hello world|\(resolved)")
            #expect(shown["exit_code"] as? Int == 0)
        }
    }

    @Test("a running job's output so far is saved, for jobq logs --follow")
    func outputWhileRunning() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            let id = try await scenario.addShell(
                "echo first; while [ ! -e go ]; do sleep 0.01; done; echo second", in: scenario.directory)
            try await scenario.waitFor("the first line saved while the job runs") {
                let job = try await scenario.job(id)
                return job.state == .running && String(decoding: job.stdout, as: UTF8.self) == "first\n"
            }
            let logs = try await scenario.succeed(["logs", String(id)])
            #expect(String(decoding: logs.stdout, as: UTF8.self) == "first\n")
            scenario.touch("go")
            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            #expect(String(decoding: job.stdout, as: UTF8.self) == "first\nsecond\n")
        }
    }

    @Test("--shell runs the words with /bin/sh -c in the job's directory")
    func shell() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            let id = try await scenario.add(
                ["echo", "$((6 * 7))", ">", "answer.txt;", "echo", "done"], options: ["--shell"],
                in: scenario.directory)

            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            #expect(String(decoding: job.stdout, as: UTF8.self) == "done\n")
            #expect(scenario.read("answer.txt") == "42\n")
        }
    }

    @Test("argv with spaces, quotes, $(...), globs and dashes reaches the program verbatim")
    func verbatimArguments() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            let arguments = ["a b", #"it's "quoted""#, "$(echo nope)", "`id`", "*", "--flag", "", "ünï\tcode"]
            let id = try await scenario.add(["printf", #"[%s]\n"#] + arguments, in: scenario.directory)

            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            let expected = arguments.map { "[\($0)]\n" }.joined()
            #expect(String(decoding: job.stdout, as: UTF8.self) == expected)
        }
    }

    @Test("a program that cannot be spawned fails its job with the reason; the daemon runs the next job")
    func missingProgram() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon()
            let missing = try await scenario.add(["/nonexistent/program", "arg"], in: scenario.directory)
            let job = try await scenario.waitUntilFinished(missing)
            #expect(job.state == .failed, "\(Scenario.summary(job))")
            #expect(job.attempts == 1)
            let error = job.error ?? ""
            #expect(error.contains("/nonexistent/program") || error.contains("No such file"), "error: \(error)")

            let next = try await scenario.add(["true"], in: scenario.directory)
            #expect(try await scenario.waitUntilFinished(next).state == .succeeded)
            #expect(!daemon.hasExited)
        }
    }

    @Test("each start and finish is one info line with the job, its queue, its exit status or signal and duration")
    func startAndFinishLogLines() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon()
            let succeeded = try await scenario.add(["true"], in: scenario.directory)
            let failed = try await scenario.addShell("exit 3")
            let killed = try await scenario.addShell("kill -9 $$")
            for id in [succeeded, failed, killed] { _ = try await scenario.waitUntilFinished(id) }
            // A finish line is written once the result is committed: it may trail the stored state.
            try await scenario.waitFor("three finish lines") {
                daemon.log.components(separatedBy: " job finished ").count == 4
            }
            let lines = daemon.log.split(separator: "\n")
            func line(_ message: String, of id: JobID) -> String {
                let found = lines.first { $0.contains(" info jobqd: \(message) ") && $0.contains(" job.id=\(id) ") }
                return found.map(String.init) ?? "no line"
            }
            for id in [succeeded, failed, killed] {
                #expect(line("job started", of: id).hasSuffix(" queue.name=default"), "\(daemon.log)")
                let finished = line("job finished", of: id)
                #expect(finished.contains(" job.duration="), "\(finished)")
                #expect(finished.hasSuffix(" queue.name=default"), "\(finished)")
            }
            #expect(line("job finished", of: succeeded).contains(" job.exit_code=0 "))
            #expect(line("job finished", of: failed).contains(" job.exit_code=3 "))
            #expect(line("job finished", of: killed).contains(" job.signal=9 "))
            #expect(!line("job finished", of: killed).contains("job.exit_code"))
        }
    }

    @Test("a job whose directory was deleted fails with the reason; the daemon runs the next job")
    func deletedWorkingDirectory() async throws {
        try await withScenario { scenario in
            let workdir = scenario.path("gone")
            try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
            let lost = try await scenario.add(["true"], in: workdir)
            try FileManager.default.removeItem(atPath: workdir)
            let daemon = try await scenario.startDaemon()

            let job = try await scenario.waitUntilFinished(lost)
            #expect(job.state == .failed, "\(Scenario.summary(job))")
            let error = job.error ?? ""
            #expect(error.contains(workdir) || error.contains("No such file"), "error: \(error)")

            let next = try await scenario.add(["true"], in: scenario.directory)
            #expect(try await scenario.waitUntilFinished(next).state == .succeeded)
            #expect(!daemon.hasExited)
        }
    }

    @Test("a job writing 50 MB to stdout succeeds, keeps a bounded tail, and does not grow the daemon")
    func floodedStdout() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon()
            let baseline = try #require(peakResidentBytes(of: daemon.process.pid))
            let id = try await scenario.addShell("yes 0123456789abcdef | head -c 52428800; echo END")

            let job = try await scenario.waitUntilFinished(id, timeout: .seconds(60))
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            #expect(job.stdout.count <= 64 * 1024)
            #expect(job.stdout.count >= 60 * 1024)
            #expect(String(decoding: job.stdout.suffix(4), as: UTF8.self) == "END\n")
            // Holding the whole output would add 50 MiB; the tail and the pipe buffers add little.
            let peak = try #require(peakResidentBytes(of: daemon.process.pid))
            #expect(peak - baseline < 24 * 1024 * 1024, "peak RSS grew from \(baseline) to \(peak) bytes")

            let next = try await scenario.add(["true"], in: scenario.directory)
            #expect(try await scenario.waitUntilFinished(next).state == .succeeded)
            #expect(!daemon.hasExited)
        }
    }
}

/// The peak resident set size of process `pid` (`VmHWM` in `/proc/PID/status`), in bytes.
func peakResidentBytes(of pid: pid_t) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.dropFirst("VmHWM:".count).trimmingCharacters(in: .whitespaces).split(separator: " ")
        return kilobytes.first.flatMap { Int($0) }.map { $0 * 1024 }
    }
    return nil
}
