import Foundation
import JobqCore
import JobqStore
import JobqTestSupport
import Testing

/// SPEC §2–§3: when jobs run — backlog at start, priorities, delays, retries, dependencies.
@Suite("Scheduling")
struct SchedulingTests {
    @Test("jobs enqueued while the daemon is down run when it starts; jobq join returns once they are done")
    func backlogAtStart() async throws {
        try await withScenario { scenario in
            var ids: [JobID] = []
            for index in 0..<3 {
                ids.append(try await scenario.addShell("touch done.\(index)"))
            }
            let join = try ChildProcess.launch(
                try Binaries.path(of: "jobq"), ["--db", scenario.database, "join", "--timeout", "60s"],
                environment: scenario.environment())
            // Without a daemon nothing can finish, so join must still be waiting.
            #expect(!join.hasExited)
            try await scenario.startDaemon()

            let joined = try await join.waitForExit(timeout: .seconds(60))
            #expect(joined.exitStatus == 0, "jobq join: \(joined)")
            for (index, id) in ids.enumerated() {
                // join returned, so every job is already terminal: no waiting here.
                let job = try await scenario.job(id)
                #expect(job.state == .succeeded, "\(Scenario.summary(job))")
                #expect(scenario.exists("done.\(index)"))
            }
        }
    }

    @Test("higher priority runs first; equal priorities run in enqueue order")
    func priorityOrder() async throws {
        try await withScenario { scenario in
            try await scenario.succeed(["pause", "ordered"])
            try await scenario.succeed(["queue", "set", "ordered", "--concurrency", "1"])
            let jobs: [(name: String, priority: Int)] = [
                ("a", 0), ("b", 5), ("c", 0), ("d", 5), ("e", -1), ("f", 10), ("g", 0),
            ]
            for job in jobs {
                try await scenario.addShell(
                    "echo \(job.name) >> order.txt",
                    options: ["--queue", "ordered", "--priority", String(job.priority)])
            }
            try await scenario.startDaemon()
            try await scenario.succeed(["resume", "ordered"])
            let joined = try await scenario.jobq(["join", "ordered", "--timeout", "60s"])
            #expect(joined.exitStatus == 0, "\(joined)")
            #expect(scenario.read("order.txt") == "f\nb\nd\na\nc\ng\ne\n")
        }
    }

    @Test("a delayed job is not started before it is due, and runs after")
    func delayedJob() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            let id = try await scenario.addShell("touch ran", options: ["--delay", "1500ms"])
            let enqueued = try await scenario.job(id)
            #expect(enqueued.runAt.milliseconds - enqueued.enqueuedAt.milliseconds >= 1500)

            // A job enqueued later without delay runs first: the daemon was awake and passed it by.
            let probe = try await scenario.addShell("true")
            try await scenario.waitUntilFinished(probe)
            if Timestamp.now() < enqueued.runAt {
                let early = try await scenario.job(id)
                #expect(early.state == .pending && early.attempts == 0, "\(Scenario.summary(early))")
            }

            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            let started = try #require(job.startedAt)
            #expect(started >= enqueued.runAt, "started \(started), due \(enqueued.runAt)")
            #expect(scenario.exists("ran"))
        }
    }

    @Test("a job failing twice then succeeding, with --retries 2, ends succeeded after 3 attempts with backoff")
    func retriesWithBackoff() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            // Each attempt appends its start time (ns); attempts 1 and 2 fail.
            let script = #"""
                date +%s%N >> starts; n=$(wc -l < starts); [ "$n" -ge 3 ] || exit 5
                """#
            let id = try await scenario.addShell(script, options: ["--retries", "2", "--backoff", "100ms"])

            let job = try await scenario.waitUntilFinished(id)
            #expect(job.state == .succeeded, "\(Scenario.summary(job))")
            #expect(job.attempts == 3)
            #expect(job.failures == 2)
            let starts = scenario.read("starts").split(separator: "\n").compactMap { Int64($0) }
            try #require(starts.count == 3, "starts: \(starts)")
            // Attempt k+1 waits at least base × 2^(k−1) × 0.5 after attempt k ended.
            #expect(starts[1] - starts[0] >= 50_000_000, "first backoff \(starts[1] - starts[0]) ns")
            #expect(starts[2] - starts[1] >= 100_000_000, "second backoff \(starts[2] - starts[1]) ns")
        }
    }

    @Test("a job with no retries left ends failed with its exit code")
    func retriesExhausted() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            let once = try await scenario.addShell("exit 7")
            let twice = try await scenario.addShell("exit 3", options: ["--retries", "1", "--backoff", "50ms"])

            let failedOnce = try await scenario.waitUntilFinished(once)
            #expect(failedOnce.state == .failed, "\(Scenario.summary(failedOnce))")
            #expect(failedOnce.exitCode == 7)
            #expect(failedOnce.attempts == 1)

            let failedTwice = try await scenario.waitUntilFinished(twice)
            #expect(failedTwice.state == .failed, "\(Scenario.summary(failedTwice))")
            #expect(failedTwice.exitCode == 3)
            #expect(failedTwice.attempts == 2)
            #expect(failedTwice.failures == 2)

            let waited = try await scenario.jobq(["wait", String(once), "--timeout", "10s"])
            #expect(waited.exitStatus == 1, "jobq wait on a failed job: \(waited)")
        }
    }

    @Test("--after starts a job only once its dependency succeeded")
    func dependencySucceeds() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            let first = try await scenario.addShell("touch first.started; while [ ! -e go ]; do sleep 0.02; done")
            let second = try await scenario.addShell("touch second.ran", options: ["--after", String(first)])

            try await scenario.waitUntilRunning(first)
            // Whatever the daemon does meanwhile, the dependent must wait.
            let waiting = try await scenario.job(second)
            #expect(waiting.state == .pending && waiting.attempts == 0, "\(Scenario.summary(waiting))")
            scenario.touch("go")

            let done = try await scenario.waitUntilFinished(second)
            #expect(done.state == .succeeded, "\(Scenario.summary(done))")
            let dependency = try await scenario.job(first)
            #expect(dependency.state == .succeeded)
            let dependencyFinished = try #require(dependency.finishedAt)
            let started = try #require(done.startedAt)
            #expect(started >= dependencyFinished)
        }
    }

    @Test("when a dependency fails, its dependents (and theirs) are cancelled")
    func dependencyFailureCascades() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            let failing = try await scenario.addShell("touch failing.ran; exit 1")
            let child = try await scenario.addShell("touch child.ran", options: ["--after", String(failing)])
            let grandchild = try await scenario.addShell("touch grandchild.ran", options: ["--after", String(child)])

            #expect(try await scenario.waitUntilFinished(failing).state == .failed)
            for id in [child, grandchild] {
                let job = try await scenario.waitUntilFinished(id)
                #expect(job.state == .cancelled, "\(Scenario.summary(job))")
                #expect(job.attempts == 0)
                #expect(job.error?.contains("dependency") == true, "error: \(job.error ?? "none")")
            }
            #expect(scenario.exists("failing.ran"))
            #expect(!scenario.exists("child.ran"))
            #expect(!scenario.exists("grandchild.ran"))
        }
    }
}
