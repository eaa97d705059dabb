import JobqCore
import JobqSQLite
import JobqTestSupport
import Testing

@testable import JobqStore

@Suite struct ClaimProtocolTests {
    let directory = TemporaryDirectory()

    func makeStore() async throws -> JobStore {
        try await JobStore(path: directory.databasePath, durability: .normal)
    }

    @Test func storeRunsOnItsOwnThread() async throws {
        let store = try await makeStore()
        #expect(await store.isOnOwnThread())
    }

    @Test func storeConfinedToTheCallingThreadIsUsedSynchronously() async throws {
        // Everything between the open and the last call runs without a suspension, on one
        // thread (`assumeIsolated` traps anywhere else).
        func enqueueSynchronously(path: String) throws -> [JobID] {
            let store = try JobStore(confinedToCallingThread: path)
            return try store.assumeIsolated { store in
                try store.enqueue([request("a"), request("b")], now: t0).map(\.id)
            }
        }
        let ids = try enqueueSynchronously(path: directory.databasePath)
        #expect(ids.count == 2)
        // A threaded store on the same file sees the jobs.
        let store = try await makeStore()
        #expect(try await store.jobs().map(\.id).sorted() == ids.sorted())
    }

    @Test func priorityThenFIFO() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue(
            [
                request("low1"), request("high1", priority: 5), request("low2"), request("high2", priority: 5),
                request("mid", priority: 1), request("neg", priority: -3),
            ], now: t0)
        let ids = jobs.map(\.id)
        let first = try await store.claim(queue: "default", limit: 3, now: t0)
        #expect(first.map(\.id) == [ids[1], ids[3], ids[4]])
        let rest = try await store.claim(queue: "default", limit: 10, now: t0)
        #expect(rest.map(\.id) == [ids[0], ids[2], ids[5]])
        #expect(try await store.claim(queue: "default", limit: 10, now: t0).isEmpty)
        #expect(first.allSatisfy { $0.attempt == 1 && $0.queue == "default" && $0.workingDirectory == "/tmp" })
        // Claimed jobs stay pending.
        #expect(try await store.unfinishedCount() == 6)
        #expect(try await store.jobs(states: [.pending]).count == 6)
    }

    @Test func queuesAreSeparate() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue([request(queue: "a"), request(queue: "b")], now: t0)
        #expect(try await store.claim(queue: "b", limit: 10, now: t0).map(\.id) == [jobs[1].id])
        #expect(try await store.claim(queue: "nope", limit: 10, now: t0).isEmpty)
    }

    @Test func delayedJobsAreNotClaimedBeforeTheyAreDue() async throws {
        let store = try await makeStore()
        let late = try await store.enqueue([request("late", notBefore: t0 + 60_000)], now: t0)[0]
        let soon = try await store.enqueue([request("soon", notBefore: t0 + 1000)], now: t0)[0]
        #expect(try await store.nextDueTime(queue: "default") == t0 + 1000)
        #expect(try await store.claim(queue: "default", limit: 10, now: t0 + 999).isEmpty)
        #expect(try await store.claim(queue: "default", limit: 10, now: t0 + 1000).map(\.id) == [soon.id])
        #expect(try await store.nextDueTime(queue: "default") == t0 + 60_000)
        #expect(try await store.claim(queue: "default", limit: 10, now: t0 + 59_999).isEmpty)
        #expect(try await store.claim(queue: "default", limit: 10, now: t0 + 60_000).map(\.id) == [late.id])
        #expect(try await store.nextDueTime(queue: "default") == nil)
    }

    @Test func firstClaimableIsWhatAClaimWouldTakeFirstNow() async throws {
        let store = try await makeStore()
        #expect(try await store.firstClaimable(queue: "default", now: t0) == nil)
        let running = try await store.enqueue([request(priority: 1)], now: t0)[0]
        #expect(try await store.firstClaimable(queue: "default", now: t0).map { [$0.priority, Int($0.id)] } == [1, 1])
        _ = try await store.claim(queue: "default", limit: 1, now: t0)
        // Claimed jobs, jobs of other queues, blocked and not yet due ones do not count.
        #expect(try await store.firstClaimable(queue: "default", now: t0) == nil)
        let jobs = try await store.enqueue(
            [
                request(queue: "other", priority: 9), request(priority: 8, after: [running.id]),
                request(priority: 2, notBefore: t0 + 1000), request(priority: 2), request(priority: 2),
            ], now: t0)
        func first(at now: Timestamp) async throws -> JobID? {
            try await store.firstClaimable(queue: "default", now: now)?.id
        }
        #expect(try await first(at: t0) == jobs[3].id)
        // A delayed job counts once due, before any claim moves it to the ready ones, and goes
        // before later jobs of its priority.
        #expect(try await first(at: t0 + 1000) == jobs[2].id)
        // A dependent that became ready goes first by its priority.
        _ = try await store.markRunning([(running.id, 1, t0, nil)])
        _ = try await store.finish([JobResult(id: running.id, attempt: 1, outcome: .succeeded, finishedAt: t0)])
        #expect(try await first(at: t0 + 1000) == jobs[1].id)
    }

    @Test func releaseMakesClaimedJobsClaimableAgain() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue([request(), request()], now: t0)
        let claimed = try await store.claim(queue: "default", limit: 10, now: t0)
        #expect(try await store.nextDueTime(queue: "default") == nil)
        try await store.release([claimed[1].id])
        #expect(try await store.claim(queue: "default", limit: 10, now: t0).map(\.id) == [jobs[1].id])
    }

    @Test func dependenciesWaitForSuccess() async throws {
        let store = try await makeStore()
        let a = try await store.enqueue([request("a"), request("b")], now: t0)
        let c = try await store.enqueue([request("c", after: [a[0].id, a[1].id, a[0].id])], now: t0)[0]
        #expect(c.dependencies == [a[0].id, a[1].id] && c.unmetDependencies == 2)
        #expect(try await store.job(c.id)?.dependencies == [a[0].id, a[1].id])
        let runs = try await store.start(limit: 10, now: t0)
        #expect(runs.map(\.id) == [a[0].id, a[1].id])
        _ = try await store.finish(runs[0], .succeeded, at: t0 + 1)
        #expect(try await store.claim(queue: "default", limit: 10, now: t0 + 1).isEmpty)
        _ = try await store.finish(runs[1], .succeeded, at: t0 + 2)
        #expect(try await store.claim(queue: "default", limit: 10, now: t0 + 2).map(\.id) == [c.id])
        // Depending on a job that already succeeded is no wait at all.
        let d = try await store.enqueue([request("d", after: [a[0].id])], now: t0 + 3)[0]
        #expect(d.unmetDependencies == 0 && d.state == .pending)
    }

    /// `record` tells the daemon when results may have made jobs claimable, so that a plain
    /// success wakes no producer.
    @Test func recordSaysWhenResultsMayHaveMadeJobsClaimable() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue(
            [request("plain"), request("parent"), request("flaky", retries: 1), request("doomed")], now: t0)
        _ = try await store.enqueue([request("child", after: [jobs[1].id])], now: t0)
        let runs = try await store.start(limit: 4, now: t0)
        try #require(runs.map(\.id) == jobs.map(\.id))
        func record(_ run: ClaimedJob, _ outcome: JobOutcome) async throws -> Bool {
            var transitions = RunTransitions()
            transitions.results = [JobResult(id: run.id, attempt: run.attempt, outcome: outcome, finishedAt: t0 + 1)]
            return try await store.record(transitions).newlyClaimable
        }
        let failure = JobOutcome.failed(exitCode: 1, signal: nil, reason: nil)
        #expect(try await record(runs[0], .succeeded) == false, "a success without dependents")
        #expect(try await record(runs[1], .succeeded) == true, "a success that releases a dependent")
        #expect(try await record(runs[2], failure) == true, "a failure with a retry left")
        #expect(try await record(runs[3], failure) == false, "a failure without one")
    }

    @Test(arguments: [
        JobOutcome.failed(exitCode: 1, signal: nil, reason: nil), .cancelled(reason: nil),
        .timedOut(after: .seconds(1)),
    ])
    func failureAndCancellationCascadeTransitively(outcome: JobOutcome) async throws {
        let store = try await makeStore()
        let root = try await store.enqueue([request("root")], now: t0)[0]
        let child = try await store.enqueue([request("child", queue: "other", after: [root.id])], now: t0)[0]
        let grandchild = try await store.enqueue([request("grandchild", after: [child.id])], now: t0)[0]
        let unrelated = try await store.enqueue([request("unrelated")], now: t0)[0]
        let run = try await store.start(limit: 1, now: t0)[0]
        let state = try await store.finish(run, outcome, at: t0 + 5)
        let word = state == .failed ? "failed" : "was cancelled"
        for id in [child.id, grandchild.id] {
            let job = try #require(try await store.job(id))
            #expect(job.state == .cancelled && job.error == "dependency \(root.id) \(word)" && job.finishedAt == t0 + 5)
        }
        #expect(try await store.job(unrelated.id)?.state == .pending)
        // A new job after a failed or cancelled one is cancelled at once, naming it.
        let late = try await store.enqueue([request("late", after: [root.id])], now: t0 + 6)[0]
        #expect(late.state == .cancelled && late.error == "dependency \(root.id) \(word)")
        #expect(try await store.job(late.id) == late)
    }

    @Test func cancellingAPendingJobCascades() async throws {
        let store = try await makeStore()
        let root = try await store.enqueue([request("root")], now: t0)[0]
        let child = try await store.enqueue([request("child", after: [root.id])], now: t0)[0]
        #expect(try await store.cancel([root.id], now: t0) == [root.id: .cancelled])
        #expect(try await store.cancel([root.id], now: t0) == [root.id: .alreadyEnded(.cancelled)])
        #expect(try await store.job(child.id)?.error == "dependency \(root.id) was cancelled")
    }

    @Test func retriesBackOffExponentiallyThenFail() async throws {
        let store = try await makeStore()
        let job = try await store.enqueue([request("flaky", retries: 2, backoff: .seconds(1))], now: t0)[0]
        var now = t0
        var expectedAttempt = 1
        for (failure, fullDelay) in [(1, Int64(1000)), (2, Int64(2000))] {
            let run = try #require(try await store.start(now: now).first)
            #expect(run.attempt == expectedAttempt)
            let state = try await store.finish(run, .failed(exitCode: nil, signal: 9, reason: nil), at: now + 10)
            #expect(state == .pending)
            let stored = try #require(try await store.job(job.id))
            #expect(stored.failures == failure && stored.signal == 9 && stored.error == "killed by signal 9")
            let delay = stored.runAt.milliseconds - (now + 10).milliseconds
            #expect(delay >= fullDelay / 2 && delay <= fullDelay)
            #expect(try await store.claim(queue: "default", limit: 1, now: stored.runAt + -1).isEmpty)
            now = stored.runAt
            expectedAttempt += 1
        }
        let last = try #require(try await store.start(now: now).first)
        #expect(try await store.finish(last, .failed(exitCode: 2, signal: nil, reason: "boom"), at: now + 1) == .failed)
        let failed = try #require(try await store.job(job.id))
        #expect(failed.attempts == 3 && failed.failures == 3 && failed.error == "boom" && failed.finishedAt == now + 1)
    }

    @Test func timeoutIsAFailedAttemptThatSaysSo() async throws {
        let store = try await makeStore()
        _ = try await store.enqueue([request()], now: t0)
        let run = try await store.start(now: t0)[0]
        #expect(try await store.finish(run, .timedOut(after: .milliseconds(1500)), at: t0 + 1) == .failed)
        #expect(try await store.job(run.id)?.error == "timed out after 1.5s")
    }

    @Test func aStoppedRunKeepsHowItsProcessEnded() async throws {
        let store = try await makeStore()
        _ = try await store.enqueue([request(), request()], now: t0)
        let runs = try await store.start(now: t0)
        #expect(try await store.finish(runs[0], .timedOut(after: .seconds(1), signal: 15), at: t0 + 1) == .failed)
        #expect(try await store.finish(runs[1], .cancelled(reason: nil, exitCode: 3), at: t0 + 1) == .cancelled)
        let timedOut = try #require(try await store.job(runs[0].id))
        #expect(timedOut.signal == 15 && timedOut.exitCode == nil)
        let cancelled = try #require(try await store.job(runs[1].id))
        #expect(cancelled.exitCode == 3 && cancelled.signal == nil)
    }

    @Test func anInterruptedRunDoesNotUseARetry() async throws {
        let store = try await makeStore()
        _ = try await store.enqueue([request()], now: t0)
        let run = try await store.start(now: t0)[0]
        #expect(try await store.finish(run, .interrupted, at: t0 + 1) == .pending)
        let job = try #require(try await store.job(run.id))
        #expect(job.attempts == 1 && job.failures == 0 && job.finishedAt == nil)
        #expect(try await store.start(now: t0 + 1).map(\.attempt) == [2])
    }

    @Test func fencingIgnoresLateResultsFromAnOlderAttempt() async throws {
        let store = try await makeStore()
        let job = try await store.enqueue([request()], now: t0)[0]
        let first = try await store.start(now: t0)[0]
        let process = ProcessRecord(pid: 4242, processGroup: 4242, startTime: 123_456_789)
        // The daemon crashes; the next one recovers.
        #expect(try await store.interruptedRuns() == [InterruptedRun(id: job.id, attempt: 1, process: nil)])
        #expect(try await store.requeueInterrupted(now: t0 + 1) == 1)
        let claimed = try await store.claim(queue: "default", limit: 1, now: t0 + 1)
        #expect(claimed.map(\.attempt) == [2])
        // A stale start for attempt 1 does not start it; the right one does.
        #expect(try await store.markRunning([(job.id, 1, t0 + 2, nil)]).isEmpty)
        #expect(try await store.markRunning([(job.id, 2, t0 + 2, process)]) == [job.id])
        #expect(try await store.interruptedRuns() == [InterruptedRun(id: job.id, attempt: 2, process: process)])
        // The first run's late result is ignored.
        #expect(try await store.finish(first, .failed(exitCode: 1, signal: nil, reason: nil), at: t0 + 3) == nil)
        try await store.updateOutput(job.id, attempt: 1, CapturedOutput(stdout: [1], stderr: [1]))
        let running = try #require(try await store.job(job.id))
        #expect(
            running.state == .running && running.attempts == 2 && running.stdout.isEmpty && running.process == process)
        #expect(try await store.finish(claimed[0], .succeeded, at: t0 + 4) == .succeeded)
        // And a duplicate of a result already applied changes nothing.
        #expect(try await store.finish(claimed[0], .failed(exitCode: 1, signal: nil, reason: nil), at: t0 + 5) == nil)
        let done = try #require(try await store.job(job.id))
        #expect(done.state == .succeeded && done.exitCode == 0 && done.process == nil && done.finishedAt == t0 + 4)
    }

    @Test func aJobCancelledWhileClaimedIsNotStarted() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue([request(), request()], now: t0)
        let claimed = try await store.claim(queue: "default", limit: 10, now: t0)
        _ = try await store.cancel([jobs[0].id], now: t0)
        let started = try await store.markRunning(claimed.map { ($0.id, $0.attempt, t0, nil) })
        #expect(started == [jobs[1].id])
        #expect(try await store.states(of: jobs.map(\.id)) == [jobs[0].id: .cancelled, jobs[1].id: .running])
    }

    @Test func recoveryRequeuesRunningAndClearsClaims() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue([request("a"), request("b"), request("c"), request("d")], now: t0)
        let dependent = try await store.enqueue([request("e", after: [jobs[2].id])], now: t0)[0]
        let started = try await store.start(limit: 3, now: t0)
        #expect(started.map(\.id) == [jobs[0].id, jobs[1].id, jobs[2].id])
        _ = try await store.claim(queue: "default", limit: 1, now: t0)  // d: claimed, not started
        _ = try await store.cancel([jobs[2].id], now: t0)  // c: cancel requested while running
        #expect(try await store.requeueInterrupted(now: t0 + 1) == 2)
        #expect(
            try await store.states(of: jobs.map(\.id) + [dependent.id]) == [
                jobs[0].id: .pending, jobs[1].id: .pending, jobs[2].id: .cancelled, jobs[3].id: .pending,
                dependent.id: .cancelled,
            ])
        let again = try await store.claim(queue: "default", limit: 10, now: t0 + 1)
        #expect(again.map(\.id) == [jobs[0].id, jobs[1].id, jobs[3].id])
        #expect(again.map(\.attempt) == [2, 2, 1])
    }

    @Test func cancelRequestedRunEndsCancelledWhateverItReports() async throws {
        let store = try await makeStore()
        _ = try await store.enqueue([request(retries: 5)], now: t0)
        let run = try await store.start(now: t0)[0]
        _ = try await store.cancel([run.id], now: t0)
        #expect(try await store.finish(run, .failed(exitCode: nil, signal: 15, reason: nil), at: t0 + 1) == .cancelled)
        #expect(try await store.job(run.id)?.error == "cancelled by request")
    }

    @Test func anUndecodableStoredCommandFailsThatJobOnly() async throws {
        let store = try await makeStore()
        let jobs = try await store.enqueue([request("broken"), request("fine")], now: t0)
        try withRawConnection(directory.databasePath) { connection in
            try connection.execute("UPDATE jobs SET argv = '[\"unterminated' WHERE id = \(jobs[0].id)")
        }
        let claimed = try await store.claim(queue: "default", limit: 10, now: t0)
        #expect(claimed.map(\.id) == [jobs[1].id])
        let broken = try #require(try await store.job(jobs[1].id))
        #expect(broken.state == .pending)
        let states = try await store.states(of: [jobs[0].id])
        #expect(states == [jobs[0].id: .failed])
        await #expect(throws: StoreError.self) { try await store.job(jobs[0].id) }
    }

    @Test func aBacklogOfDelayedJobsCostsAClaimNothing() async throws {
        let store = try await makeStore()
        _ = try await store.enqueue(
            (0..<3000).map { request("later-\($0)", priority: 9, notBefore: t0 + 60_000) }, now: t0)
        let ready = try await store.enqueue([request("now")], now: t0)[0]
        #expect(try await store.nextDueTime(queue: "default") == t0)
        let steps = try withRawConnection(directory.databasePath) { connection in
            let statement = try connection.prepare(JobStore.claimSQL)
            try statement.bind("default", at: 1)
            try statement.bind(t0.milliseconds, at: 2)
            try statement.bind(1, at: 3)
            #expect(try statement.step() && statement.int64(at: 0) == ready.id)
            #expect(try !statement.step())
            return statement.virtualMachineSteps
        }
        // Walking the 3000 delayed jobs would take tens of thousands of steps.
        #expect(steps < 300, "the claim ran \(steps) VM steps")
        #expect(try await store.nextDueTime(queue: "default") == t0 + 60_000)
        #expect(try await store.claim(queue: "default", limit: 1, now: t0 + 59_999).isEmpty)
        let due = try await store.claim(queue: "default", limit: 5000, now: t0 + 60_000)
        #expect(due.count == 3000)
    }

    @Test func claimAndNextDueTimeUseTheirPartialIndexes() async throws {
        _ = try await makeStore()
        try withRawConnection(directory.databasePath) { connection in
            func plan(_ sql: String) throws -> String {
                let statement = try connection.prepare("EXPLAIN QUERY PLAN " + sql)
                var details: [String] = []
                while try statement.step() { details.append(statement.string(at: 3) ?? "") }
                return details.joined(separator: "\n")
            }
            let claimPlan = try plan(JobStore.claimSQL)
            #expect(claimPlan.contains("USING INDEX jobs_ready (queue=?)"), "\(claimPlan)")
            #expect(!claimPlan.contains("TEMP B-TREE"), "\(claimPlan)")
            let duePlan = try plan(JobStore.nextDueSQL)
            #expect(duePlan.contains("USING INDEX jobs_ready (queue=?)"), "\(duePlan)")
            #expect(duePlan.contains("USING INDEX jobs_delayed (queue=?)"), "\(duePlan)")
            #expect(!duePlan.contains("TEMP B-TREE"), "\(duePlan)")
            let promotePlan = try plan(JobStore.promoteSQL)
            #expect(promotePlan.contains("USING INDEX jobs_delayed (queue=? AND run_at<?)"), "\(promotePlan)")
            let countPlan = try plan(
                "SELECT count(*) FROM jobs WHERE queue IN (SELECT name FROM queues) AND state IN ('pending', 'running')"
            )
            #expect(countPlan.contains("COVERING INDEX jobs_queue_state"), "\(countPlan)")
        }
    }
}
