import CSQLite
import JobqCore
import JobqSQLite
import JobqTestSupport
import Testing

@testable import JobqStore

@Suite struct OperationsTests {
    let directory = TemporaryDirectory()

    func makeStore() async throws -> JobStore {
        try await JobStore(path: directory.databasePath)
    }

    @Test func enqueuedJobsReadBackExactly() async throws {
        let store = try await makeStore()
        let requests = [
            JobRequest(
                queue: "media", command: .argv(["ffmpeg", "-i", "in \"quoted\".mkv", "naïve ✓\n\t\\"]),
                workingDirectory: "/srv/media", environment: ["LANG": "C.UTF-8", "ODD": "a=b \"c\"\u{1}"],
                priority: 7, notBefore: t0 + 5000, timeout: .seconds(30), retries: 3, backoff: .milliseconds(250)),
            JobRequest(command: .shell("echo $HOME | wc -c"), workingDirectory: "/"),
        ]
        let jobs = try await store.enqueue(requests, now: t0)
        #expect(jobs.count == 2)
        #expect(jobs[0].id < jobs[1].id)
        for job in jobs {
            #expect(try await store.job(job.id) == job)
        }
        let first = jobs[0]
        #expect(first.state == .pending && first.runAt == t0 + 5000 && first.enqueuedAt == t0)
        #expect(first.maxRetries == 3 && first.backoff == .milliseconds(250) && first.timeout == .seconds(30))
        #expect(jobs[1].command == .shell("echo $HOME | wc -c") && jobs[1].runAt == t0)
        #expect(try await store.job(9999) == nil)
    }

    @Test func listingIsNewestFirstAndFiltered() async throws {
        let store = try await makeStore()
        let a = try await store.enqueue(
            [request("a", queue: "q1"), request("b", queue: "q2"), request("c", queue: "q1")], now: t0)
        _ = try await store.cancel([a[2].id], now: t0)
        #expect(try await store.jobs().map(\.id) == a.map(\.id).reversed())
        #expect(try await store.jobs(queue: "q1").map(\.id) == [a[2].id, a[0].id])
        #expect(try await store.jobs(queue: "q1", states: [.pending]).map(\.id) == [a[0].id])
        #expect(try await store.jobs(states: [.cancelled]).map(\.id) == [a[2].id])
        #expect(try await store.jobs(limit: 1).map(\.id) == [a[2].id])
    }

    @Test func statsCountEveryKnownQueueSortedByName() async throws {
        let store = try await makeStore()
        _ = try await store.enqueue([request(queue: "b"), request(queue: "b"), request(queue: "a")], now: t0)
        try await store.setPaused("c-empty", true, now: t0)
        try await store.updateQueue("b", concurrency: 4, capacity: 100, now: t0)
        let running = try await store.start(queue: "b", limit: 1, now: t0)
        #expect(try await store.finish(running[0], .succeeded, at: t0 + 1) == .succeeded)
        let stats = try await store.queueStats()
        #expect(stats.map(\.name) == ["a", "b", "c-empty"])
        #expect(
            stats[0]
                == QueueStats(
                    name: "a", pending: 1, running: 0, succeeded: 0, failed: 0, cancelled: 0,
                    paused: false, concurrency: nil, capacity: nil))
        #expect(
            stats[1]
                == QueueStats(
                    name: "b", pending: 1, running: 0, succeeded: 1, failed: 0, cancelled: 0,
                    paused: false, concurrency: 4, capacity: 100))
        #expect(stats[2].paused && stats[2].unfinished == 0)
        #expect(try await store.queueStats(queue: "b").map(\.name) == ["b"])
        #expect(try await store.queueStats(queue: "nope").isEmpty)
        #expect(try await store.unfinishedCount() == 2)
        #expect(try await store.unfinishedCount(queue: "b") == 1)
        #expect(try await store.unfinishedCount(queue: "nope") == 0)
    }

    @Test func enqueueIsAllOrNothing() async throws {
        let store = try await makeStore()
        let existing = try await store.enqueue([request()], now: t0)
        await #expect(throws: StoreError.dependencyNotFound(424_242)) {
            try await store.enqueue(
                [request(queue: "new"), request(after: [existing[0].id]), request(after: [424_242])], now: t0)
        }
        await #expect(throws: StoreError.self) {
            try await store.enqueue([request(), JobRequest(command: .argv([]), workingDirectory: "/")], now: t0)
        }
        await #expect(throws: StoreError.invalidRequest("the working directory must be an absolute path, not 'rel'")) {
            try await store.enqueue([JobRequest(command: .shell("true"), workingDirectory: "rel")], now: t0)
        }
        #expect(try await store.jobs().count == 1)
        #expect(try await store.queueStats().map(\.name) == ["default"])
    }

    @Test func cancelPendingRunningFinishedAndUnknown() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue([request("run"), request("wait"), request("done")], now: t0)
        let running = try await store.start(limit: 1, now: t0)
        #expect(running.map(\.id) == [jobs[0].id])
        _ = try await store.cancel([jobs[2].id], now: t0)

        await #expect(throws: StoreError.jobNotFound(777)) {
            try await store.cancel([jobs[1].id, 777], now: t0)
        }
        #expect(try await store.job(jobs[1].id)?.state == .pending)  // the failed call changed nothing

        let result = try await store.cancel(jobs.map(\.id), now: t0 + 10)
        #expect(result == [jobs[0].id: .stopping, jobs[1].id: .cancelled, jobs[2].id: .alreadyEnded(.cancelled)])
        let cancelled = try #require(try await store.job(jobs[1].id))
        #expect(cancelled.finishedAt == t0 + 10 && cancelled.error == "cancelled by request")
        #expect(try await store.job(jobs[0].id)?.cancelRequested == true)
        #expect(try await store.cancelRequests().map(\.id) == [jobs[0].id])
        #expect(try await store.cancelRequests().map(\.attempt) == [1])
    }

    @Test func cancelAQueue() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue(
            [request(queue: "q"), request(queue: "q"), request(queue: "other")], now: t0)
        _ = try await store.start(queue: "q", limit: 1, now: t0)
        let dependent = try await store.enqueue([request(queue: "other", after: [jobs[1].id])], now: t0)
        #expect(try await store.cancel(queue: "q", now: t0) == 2)
        #expect(
            try await store.states(of: jobs.map(\.id) + dependent.map(\.id))
                == [jobs[0].id: .running, jobs[1].id: .cancelled, jobs[2].id: .pending, dependent[0].id: .cancelled])
    }

    @Test func retryGivesAFreshBudget() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue([request("flaky", retries: 1), request("ok")], now: t0)
        let first = try await store.start(limit: 1, now: t0)[0]
        #expect(try await store.finish(first, .failed(exitCode: 3, signal: nil, reason: nil), at: t0 + 1) == .pending)
        let due = try #require(try await store.job(jobs[0].id)).runAt
        let second = try await store.start(limit: 1, now: due)[0]
        #expect(try await store.finish(second, .failed(exitCode: 3, signal: nil, reason: nil), at: due + 1) == .failed)
        let failed = try #require(try await store.job(jobs[0].id))
        #expect(
            failed.failures == 2 && failed.attempts == 2 && failed.exitCode == 3
                && failed.error == "exit status 3")

        await #expect(throws: StoreError.jobNotFound(555)) { try await store.retry([555], now: t0) }
        let result = try await store.retry([jobs[0].id, jobs[1].id], now: t0 + 100)
        #expect(result == [jobs[0].id: .pending, jobs[1].id: .pending])
        let retried = try #require(try await store.job(jobs[0].id))
        #expect(retried.failures == 0 && retried.attempts == 2 && retried.runAt == t0 + 100)
        #expect(retried.exitCode == nil && retried.error == nil && retried.finishedAt == nil)
        let third = try await store.start(limit: 1, now: t0 + 100)
        #expect(third.map(\.id) == [jobs[0].id] && third[0].attempt == 3)
    }

    /// A parent job that failed, and its child, cancelled by the cascade.
    private func failedParentWithCancelledChild(_ store: JobStore) async throws -> (parent: Job, child: Job) {
        let parent = try await store.enqueue([request("parent")], now: t0)[0]
        let child = try await store.enqueue([request("child", after: [parent.id])], now: t0)[0]
        let run = try await store.start(now: t0)[0]
        _ = try await store.finish(run, .failed(exitCode: 1, signal: nil, reason: nil), at: t0 + 1)
        #expect(try await store.job(child.id)?.state == .cancelled)
        return (parent, child)
    }

    @Test func retryOfADependentWaitsForARetriedDependency() async throws {
        let store = try await makeStore()
        let (parent, child) = try await failedParentWithCancelledChild(store)

        // Alone, the child is refused, and nothing changes: its dependency is still failed.
        await #expect(throws: StoreError.retryBlocked(child.id, dependency: parent.id, dependencyState: .failed)) {
            try await store.retry([child.id], now: t0 + 2)
        }
        let refused = try #require(try await store.job(child.id))
        #expect(refused.state == .cancelled && refused.error == "dependency \(parent.id) failed")

        // Together, the child waits for the parent.
        #expect(
            try await store.retry([child.id, parent.id], now: t0 + 3) == [child.id: .pending, parent.id: .pending])
        #expect(try await store.job(child.id)?.unmetDependencies == 1)
        let again = try await store.start(now: t0 + 3)
        #expect(again.map(\.id) == [parent.id])
        _ = try await store.finish(again[0], .succeeded, at: t0 + 4)
        #expect(try await store.start(now: t0 + 4).map(\.id) == [child.id])
    }

    @Test func pauseAndQueueSettings() async throws {
        let store = try await makeStore()
        _ = try await store.enqueue([request(queue: "q")], now: t0)
        try await store.setPaused("q", true)
        #expect(try await store.claim(queue: "q", limit: 10, now: t0).isEmpty)
        try await store.setPaused("q", false)
        #expect(try await store.claim(queue: "q", limit: 10, now: t0).count == 1)

        try await store.updateQueue("q", concurrency: 3, capacity: 50, idleTimeout: .seconds(2))
        try await store.updateQueue("q", capacity: .some(nil))  // reset one, leave the others
        #expect(
            try await store.queueSettings()
                == [QueueSettings(name: "q", concurrency: 3, capacity: nil, idleTimeout: .seconds(2), paused: false)])
        await #expect(throws: StoreError.invalidRequest("concurrency must be at least 1, not 0")) {
            try await store.updateQueue("q", concurrency: 0)
        }
        await #expect(throws: StoreError.invalidRequest("the queue name is empty")) {
            try await store.setPaused("", true)
        }
    }

    @Test func queuesToServeAreThoseWithWorkPausedOrNamed() async throws {
        let store = try await makeStore()
        let first = try await store.enqueue([request(queue: "first")], now: t0)[0]
        _ = try await store.enqueue(
            [
                request(queue: "ready"), request(queue: "ready"), request(queue: "later", notBefore: t0 + 60_000),
                request(queue: "blocked", after: [first.id]), request(queue: "held"), request(queue: "done"),
                request(queue: "idle"), request(queue: "paused"),
            ], now: t0)
        // "held": its job is in a daemon's memory; "done": finished; "idle": cancelled.
        _ = try await store.claim(queue: "held", limit: 1, now: t0)
        _ = try await store.finish(try await store.start(queue: "done", now: t0)[0], .succeeded, at: t0)
        _ = try await store.cancel(queue: "idle")
        try await store.setPaused("paused", true)
        _ = try await store.cancel(queue: "paused")

        let served = try await store.queuesToServe(including: ["held", "unknown"])
        #expect(served.map(\.settings.name) == ["first", "held", "later", "paused", "ready"])
        #expect(served.filter(\.hasWork).map(\.settings.name) == ["first", "later", "ready"])
        #expect(served.first { $0.settings.name == "paused" }?.settings.paused == true)
    }

    @Test func purgeOnlyFinishedJobs() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue([request("old"), request("new"), request("pending")], now: t0)
        _ = try await store.cancel([jobs[0].id], now: t0 + 10)
        _ = try await store.cancel([jobs[1].id], now: t0 + 20)
        await #expect(throws: StoreError.self) {
            try await store.purge(olderThan: nil, states: [.cancelled, .pending], now: t0 + 100)
        }
        #expect(try await store.purge(olderThan: t0 + 15, states: [.cancelled], now: t0 + 100) == 1)
        #expect(try await store.purge(olderThan: nil, states: [.succeeded, .failed], now: t0 + 100) == 0)
        #expect(try await store.purge(olderThan: nil, states: [.cancelled], now: t0 + 100) == 1)
        #expect(try await store.jobs().map(\.id) == [jobs[2].id])
    }

    @Test func dataVersionSeesOtherConnectionsCommits() async throws {
        let reader = try await makeStore()
        let writer = try await makeStore()
        let before = try await reader.dataVersion()
        #expect(try await reader.dataVersion() == before)
        _ = try await writer.enqueue([request()], now: t0)
        #expect(try await reader.dataVersion() != before)
    }

    @Test func purgeKeepsWhatARemainingJobDependsOn() async throws {
        let store = try await makeStore()
        let (failed, dependent) = try await failedParentWithCancelledChild(store)
        // The failed job stays while its cancelled dependent does: a retry of that one must still see it.
        #expect(try await store.purge(olderThan: nil, states: [.failed], now: t0 + 100) == 0)
        #expect(try await store.job(dependent.id)?.dependencies == [failed.id])
        // Purged together, both go.
        #expect(try await store.purge(olderThan: nil, states: [.failed, .cancelled], now: t0 + 100) == 2)
    }

    @Test func outputTailsAreBoundedAndFenced() async throws {
        let store = try await makeStore()
        _ = try await store.enqueue([request()], now: t0)
        let run = try await store.start(now: t0)[0]
        let big = (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }
        try await store.updateOutput(run.id, attempt: run.attempt, CapturedOutput(stdout: big, stderr: [1, 2]))
        try await store.updateOutput(run.id, attempt: run.attempt + 1, CapturedOutput(stdout: [9]))  // wrong attempt
        let job = try #require(try await store.job(run.id))
        #expect(job.stdout == Array(big.suffix(JobStore.outputTailLimit)) && job.stderr == [1, 2])
        #expect(job.stdoutBytes == 70_000 && job.stderrBytes == 2)
        let output = CapturedOutput(stdout: big, stdoutBytes: 1_000_000)
        _ = try await store.finish(
            [JobResult(id: run.id, attempt: run.attempt, outcome: .succeeded, output: output, finishedAt: t0 + 1)])
        let done = try #require(try await store.job(run.id))
        #expect(done.stdout.count == JobStore.outputTailLimit && done.stdoutBytes == 1_000_000 && done.stderrBytes == 0)
    }

    @Test func aNewAttemptStartsWithNoOutput() async throws {
        let store = try await makeStore()
        _ = try await store.enqueue([request(retries: 1, backoff: .seconds(1))], now: t0)
        let first = try await store.start(now: t0)[0]
        let failure = JobOutcome.failed(exitCode: 1, signal: nil, reason: nil)
        _ = try await store.finish(
            [
                JobResult(
                    id: first.id, attempt: first.attempt, outcome: failure,
                    output: CapturedOutput(stdout: Array("one\n".utf8)), finishedAt: t0 + 1)
            ])
        // Waiting for its retry, the job still shows what the failed attempt wrote.
        let waiting = try #require(try await store.job(first.id))
        #expect(waiting.state == .pending && waiting.stdout == Array("one\n".utf8) && waiting.stdoutBytes == 4)
        let second = try await store.start(now: t0 + 10_000)[0]
        #expect(second.attempt == 2)
        let running = try #require(try await store.job(first.id))
        #expect(running.stdout.isEmpty && running.stdoutBytes == 0 && running.stderrBytes == 0)
    }

    @Test func statesOfAnIdSet() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue([request(), request()], now: t0)
        _ = try await store.cancel([jobs[1].id], now: t0)
        #expect(
            try await store.states(of: [jobs[0].id, jobs[1].id, 999]) == [jobs[0].id: .pending, jobs[1].id: .cancelled])
        #expect(try await store.states(of: []).isEmpty)
    }
}

@Suite struct HandEditedRowsTests {
    let directory = TemporaryDirectory()

    @Test func aJobInsertedWithSQLiteJSONFunctionsReadsBack() async throws {
        let store = try await JobStore(path: directory.databasePath)
        _ = try await store.enqueue([request()], now: t0)
        try withRawConnection(directory.databasePath) { connection in
            try connection.execute(
                """
                INSERT INTO jobs (queue, state, argv, cwd, env, run_at, enqueued_at)
                VALUES ('default', 'pending', json_array('printf', '%s\n', 'é "q"'), '/', json_object('K', 'v v'),
                        0, 0)
                """)
        }
        let claimed = try await store.claim(queue: "default", limit: 10, now: t0)
        #expect(claimed.count == 2)
        #expect(claimed[1].command == .argv(["printf", "%s\n", "é \"q\""]) && claimed[1].environment == ["K": "v v"])
    }
}

@Suite struct TwoConnectionsTests {
    let directory = TemporaryDirectory()

    /// A query read for its first row only must not keep its snapshot: the other process's
    /// writes must show, and this connection must still be able to write.
    @Test func singleRowReadsNeverPinAnOldSnapshot() async throws {
        let daemon = try await JobStore(path: directory.databasePath, busyTimeout: .milliseconds(200))
        let client = try await JobStore(path: directory.databasePath, busyTimeout: .milliseconds(200))
        _ = try await client.enqueue([request()], now: t0)
        #expect(try await daemon.unfinishedCount() == 1)
        #expect(try await daemon.nextDueTime(queue: "default") == t0)
        #expect(try await daemon.job(1)?.state == .pending)
        _ = try await client.enqueue([request()], now: t0)
        #expect(try await daemon.unfinishedCount() == 2)
        #expect(try await daemon.claim(queue: "default", limit: 10, now: t0).count == 2)
    }
}
