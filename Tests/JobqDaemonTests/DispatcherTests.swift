import JobqCore
import JobqDaemon
import JobqStore
import JobqTestSupport
import Synchronization
import Testing

/// The dispatcher's pools, run with in-process handlers: the scheduling semantics without
/// processes in the way.
@Suite struct DispatcherTests {
    @Test func runsEveryJobExactlyOnceWithinTheConcurrency() async throws {
        let runs = Mutex<[JobID: Int]>([:])
        let concurrency = Concurrency()
        try await DispatcherHarness.run(concurrency: 3, capacity: 16) { job in
            concurrency.enter()
            defer { concurrency.leave() }
            runs.withLock { $0[job.id, default: 0] += 1 }
            await Task.yield()
        } _: { harness in
            let ids = try await harness.enqueue(500)
            try await harness.join()
            #expect(try await harness.count(.succeeded) == 500)
            let counts = runs.withLock { $0 }
            #expect(Set(counts.keys) == Set(ids))
            #expect(counts.values.allSatisfy { $0 == 1 })
            #expect(concurrency.peak <= 3)
        }
    }

    @Test func poolGrowsToTheConcurrencyAndNoFurther() async throws {
        let gate = Gate()
        let concurrency = Concurrency()
        try await DispatcherHarness.run(concurrency: 3) { _ in
            concurrency.enter()
            await gate.wait()
            concurrency.leave()
        } _: { harness in
            defer { gate.open() }
            try await harness.enqueue(10)
            try await waitUntil("3 handlers running", timeout: .seconds(20)) { concurrency.now == 3 }
            #expect(try await harness.count(.running) == 3)
            gate.open()
            try await harness.join()
            #expect(concurrency.peak == 3)
        }
    }

    @Test func memoryHoldsAtMostTheCapacityWhateverTheBacklog() async throws {
        let gate = Gate()
        try await DispatcherHarness.run(concurrency: 1, capacity: 5) { _ in
            await gate.wait()
        } _: { harness in
            defer { gate.open() }
            try await harness.enqueue(2000)
            try await waitUntil("one job running", timeout: .seconds(20)) {
                try await harness.count(.running) == 1
            }
            // The buffer filled to its capacity; the consumer took one out, and the producer
            // refills only once half the buffer is free.
            try await waitUntil("the buffer filled", timeout: .seconds(20)) {
                try await harness.claimedUnstarted() >= 4
            }
            #expect(try await harness.claimedUnstarted() <= 5)
            gate.open()
        }
    }

    @Test func aProducerWithAFullBufferReleasesNothingOnWakeUps() async throws {
        let gate = Gate()
        try await DispatcherHarness.run(concurrency: 1, capacity: 2) { job in
            if job.queue == "q" { await gate.wait() }
        } _: { harness in
            defer { gate.open() }
            try await harness.enqueue(10)
            // One job runs and two fill the buffer; the producer waits for room.
            try await harness.waitUntilHolding(running: 1, inMemory: 2)
            // Every job of another queue wakes every producer twice: its doorbell ring and its
            // finish. None of that is a reason for the full queue to give back what it holds.
            for _ in 0..<20 {
                try await harness.enqueue(1, queue: "other")
            }
            try await harness.join("other")
            #expect(harness.log.count("released unstarted jobs") == 0)
            #expect(try await harness.claimedUnstarted() == 2)
            gate.open()
            try await harness.join()
            #expect(try await harness.count(.succeeded) == 10)
        }
    }

    /// Runs `body` once a dispatcher (concurrency 2, idle timeout an hour on a manual clock) has
    /// run 20 jobs and its consumers wait for more.
    private func withConsumersWaitingOutAnHour(
        _ body: (DispatcherHarness, ManualClock) async throws -> Void
    ) async throws {
        let clock = ManualClock()
        try await DispatcherHarness.run(concurrency: 2, idleTimeout: .seconds(3600), clock: clock) { _ in
        } _: { harness in
            try await harness.enqueue(20)
            try await harness.join()
            try await waitUntil("an idle consumer waits out its hour", timeout: .seconds(20)) {
                clock.sleepers(forAtLeast: .seconds(3599)) >= 1
            }
            try await body(harness, clock)
        }
    }

    @Test func idleConsumersEndAfterTheIdleTimeoutAndThePoolGrowsBack() async throws {
        try await withConsumersWaitingOutAnHour { harness, clock in
            #expect(harness.log.count("consumer idle; ending") == 0)
            clock.advance(by: .seconds(3600))
            try await waitUntil("consumers idled out", timeout: .seconds(20)) {
                harness.log.count("consumer idle; ending") >= 1
            }
            let started = harness.log.count("consumer started")
            try await harness.enqueue(5)
            try await harness.join()
            #expect(harness.log.count("consumer started") > started)
        }
    }

    @Test func consumersWaitingForWorkHonourALoweredConcurrency() async throws {
        let first = Gate()
        let second = Gate()
        let concurrency = Concurrency()
        try await DispatcherHarness.run(concurrency: 4, idleTimeout: .seconds(3600)) { job in
            if job.environment["ROUND"] == "1" { await first.wait() }
            guard job.environment["ROUND"] == "2" else { return }
            concurrency.enter()
            await second.wait()
            concurrency.leave()
        } _: { harness in
            defer {
                first.open()
                second.open()
            }
            // Four consumers run, then wait for work (for up to an hour).
            try await harness.enqueue(4, environment: ["ROUND": "1"])
            try await harness.waitUntilHolding(running: 4, inMemory: 0)
            first.open()
            try await harness.join()
            try await harness.client.updateQueue("q", concurrency: 1)
            try await harness.enqueue(4, environment: ["ROUND": "2"])
            // One runs; the other three wait in memory, not in consumers that predate the change.
            try await harness.waitUntilHolding(running: 1, inMemory: 3)
            second.open()
            try await harness.join()
            #expect(concurrency.peak == 1)
        }
    }

    @Test func everyGenerationOfAQueuesWorkerCountsItsConsumersInOnePool() async throws {
        let gate = Mutex(Gate())
        try await DispatcherHarness.run(concurrency: 2, idleTimeout: .seconds(3600)) { job in
            if job.environment["BLOCK"] != nil { await gate.withLock { $0 }.wait() }
        } _: { harness in
            defer { gate.withLock { $0 }.open() }
            // Each round replaces the worker twice; the first replacement's old worker may end
            // at any moment around it. A pool lost then would let the third generation start a
            // job beside the two the second one runs.
            for round in 0..<20 {
                try await harness.enqueue(2)
                try await harness.join()
                try await harness.client.updateQueue("q", idleTimeout: .seconds(3600 - round - 1))
                try await harness.enqueue(2, environment: ["BLOCK": "1"])
                try await harness.waitUntilHolding(running: 2, inMemory: 0)
                try await harness.client.updateQueue("q", concurrency: 1)
                try await harness.enqueue(1)
                try await harness.waitUntilHolding(running: 2, inMemory: 1)
                gate.withLock { gate in
                    gate.open()
                    gate = Gate()
                }
                try await harness.join()
                try await harness.client.updateQueue("q", concurrency: 2)
            }
        }
    }

    @Test func aLoweredIdleTimeoutEndsConsumersAlreadyWaiting() async throws {
        try await withConsumersWaitingOutAnHour { harness, _ in
            try await harness.client.updateQueue("q", idleTimeout: .seconds(1))
            // Without the clock moving: they waited longer than the new timeout allows.
            try await waitUntil("the waiting consumers ended", timeout: .seconds(20)) {
                harness.log.count("consumer idle; ending") + harness.log.count("consumer ending")
                    == harness.log.count("consumer started")
            }
            // The pool grows back when work comes.
            try await harness.enqueue(5)
            try await harness.join()
        }
    }

    @Test func anIdleQueuesWorkerEndsAndComesBackWithWork() async throws {
        let clock = ManualClock()
        try await DispatcherHarness.run(concurrency: 1, idleTimeout: .seconds(60), clock: clock) { _ in
        } _: { harness in
            for queue in ["a", "b", "c"] { try await harness.enqueue(2, queue: queue) }
            for queue in ["a", "b", "c"] { try await harness.join(queue) }
            // Consumers and producers each wait out a minute of idleness; a worker ends once its
            // consumers have (a minute or two).
            try await waitUntil("three idle workers ended", timeout: .seconds(20)) {
                if harness.log.count("queue idle; its worker ends") == 3 { return true }
                if clock.sleepers(forAtLeast: .seconds(59)) > 0 { clock.advance(by: .seconds(60)) }
                return false
            }
            // Work brings a worker back.
            try await harness.enqueue(1, queue: "b")
            try await harness.join("b")
            #expect(try await harness.count(.succeeded, queue: "b") == 3)
        }
    }

    @Test func anIdleQueuesWorkerEndsWhileOtherQueuesKeepTheDispatcherBusy() async throws {
        let clock = ManualClock()
        try await DispatcherHarness.run(concurrency: 1, idleTimeout: .seconds(60), clock: clock) { _ in
        } _: { harness in
            try await harness.enqueue(1, queue: "idle")
            try await harness.join("idle")
            // A job in another queue every 30 s: each rings the dispatcher, which must not wake
            // (and so keep alive) the worker of a queue that has nothing to do.
            for _ in 0..<12 where harness.log.count("queue idle; its worker ends", with: "queue.name", "idle") == 0 {
                try await harness.enqueue(1, queue: "busy")
                try await harness.join("busy")
                try await waitUntil("the idle queue's timers armed", timeout: .seconds(20)) {
                    clock.sleepers(forAtLeast: .seconds(1)) > 0
                }
                clock.advance(by: .seconds(30))
            }
            try await waitUntil("the idle queue's worker ended", timeout: .seconds(20)) {
                harness.log.count("queue idle; its worker ends", with: "queue.name", "idle") == 1
            }
            #expect(harness.log.count("queue idle; its worker ends", with: "queue.name", "busy") == 0)
        }
    }

    @Test func aDependentReleasedInAQueueWithoutAWorkerRuns() async throws {
        let gate = Gate()
        // A clock that stands still: no idle timeout or poll can be what starts the worker.
        try await DispatcherHarness.run(clock: ManualClock()) { job in
            if job.queue == "first" { await gate.wait() }
        } _: { harness in
            defer { gate.open() }
            let first = try await harness.enqueue(1, queue: "first")
            // Nothing in "then" can run yet: no worker is started for it.
            let then = try await harness.enqueue(1, queue: "then", after: first)
            try await waitUntil("the first job running", timeout: .seconds(20)) {
                try await harness.job(first[0]).state == .running
            }
            gate.open()
            try await harness.join("then")
            #expect(try await harness.job(then[0]).state == .succeeded)
        }
    }

    @Test func pausingReleasesBufferedJobsAndResumingRunsThem() async throws {
        let gate = Gate()
        try await DispatcherHarness.run(concurrency: 1, capacity: 5) { _ in
            await gate.wait()
        } _: { harness in
            defer { gate.open() }
            try await harness.enqueue(20)
            try await waitUntil("the buffer filled", timeout: .seconds(20)) {
                try await harness.claimedUnstarted() >= 4
            }
            try await harness.client.setPaused("q", true)
            try await waitUntil("buffered jobs released", timeout: .seconds(20)) {
                try await harness.claimedUnstarted() == 0
            }
            gate.open()
            try await waitUntil("the running job finished", timeout: .seconds(20)) {
                try await harness.count(.succeeded) == 1
            }
            #expect(try await harness.count(.running) == 0)
            #expect(try await harness.count(.pending) == 19)
            try await harness.client.setPaused("q", false)
            try await harness.join()
            #expect(try await harness.count(.succeeded) == 20)
        }
    }

    @Test func priorityFirstThenEnqueueOrder() async throws {
        let order = Mutex<[JobID]>([])
        try await DispatcherHarness.run(concurrency: 1) { job in
            order.withLock { $0.append(job.id) }
        } _: { harness in
            try await harness.client.setPaused("q", true)
            let low = try await harness.enqueue(2, priority: 0)
            let high = try await harness.enqueue(2, priority: 5)
            let middle = try await harness.enqueue(1, priority: 1)
            try await harness.client.setPaused("q", false)
            try await harness.join()
            #expect(order.withLock { $0 } == high + middle + low)
        }
    }

    @Test func aHigherPriorityJobOvertakesThoseAlreadyInMemory() async throws {
        let gate = Gate()
        let order = Mutex<[JobID]>([])
        try await DispatcherHarness.run(concurrency: 1, capacity: 4) { job in
            let first = order.withLock { order in
                order.append(job.id)
                return order.count == 1
            }
            if first { await gate.wait() }
        } _: { harness in
            defer { gate.open() }
            let low = try await harness.enqueue(6)
            // The first job runs (held at the gate) and the next three wait in memory.
            try await harness.waitUntilHolding(running: 1, inMemory: 3)
            let high = try await harness.enqueue(1, priority: 5)
            // Those three go back, and the next claim takes them again behind it.
            try await waitUntil("the high-priority job taken into memory", timeout: .seconds(20)) {
                try await harness.job(high[0]).claimed
            }
            gate.open()
            try await harness.join()
            #expect(order.withLock { $0 } == [low[0]] + high + low.dropFirst())
        }
    }

    @Test func aThrowingHandlerFailsTheAttemptAndIsRetried() async throws {
        struct Flaky: Error, CustomStringConvertible {
            var description: String { "flaky on purpose" }
        }
        try await DispatcherHarness.run { job in
            if job.attempt < 3 { throw Flaky() }
        } _: { harness in
            let retried = try await harness.enqueue(1, retries: 2).first!
            let failing = try await harness.enqueue(1, retries: 1).first!
            try await harness.join()
            let succeeded = try await harness.job(retried)
            #expect(succeeded.state == .succeeded)
            #expect(succeeded.attempts == 3)
            let failed = try await harness.job(failing)
            #expect(failed.state == .failed)
            #expect(failed.attempts == 2)
            #expect(failed.error?.contains("flaky on purpose") == true)
        }
    }

    @Test func aTimeoutStopsTheHandlerWhenDueAndFailsTheJob() async throws {
        let clock = ManualClock()
        let started = Gate()
        try await DispatcherHarness.run(clock: clock) { _ in
            started.open()
            try await Task.sleep(for: .seconds(600))
        } _: { harness in
            let id = try await harness.enqueue(1, timeout: .seconds(3600)).first!
            await started.wait()
            // Twenty seconds short of the hour the timer still waits (longer than any other wait
            // here: the periodic ones are a second at most, a consumer's idle timeout 10 s), and
            // the job still runs.
            try await clock.advanceToShortlyBefore(.seconds(3600), of: "the job's timer")
            #expect(try await harness.job(id).state == .running)
            clock.advance(by: .seconds(20))
            try await harness.join()
            let job = try await harness.job(id)
            #expect(job.state == .failed)
            #expect(job.error?.contains("timed out") == true)
        }
    }

    @Test func aRetryWaitsForItsBackoff() async throws {
        struct Flaky: Error {}
        let clock = ManualClock()
        try await DispatcherHarness.run(clock: clock) { job in
            if job.attempt == 1 { throw Flaky() }
        } _: { harness in
            // The first retry waits between half and all of the base: 30 to 60 minutes.
            let id = try await harness.enqueue(1, retries: 1, backoff: .seconds(3600)).first!
            // Short of the shortest backoff, the producer still waits, and the job with it.
            try await clock.advanceToShortlyBefore(.seconds(1800), of: "the producer's wait for the retry")
            var job = try await harness.job(id)
            #expect(job.state == .pending)
            #expect(job.attempts == 1)
            #expect(job.failures == 1)
            clock.advance(by: .seconds(1820))
            try await harness.join()
            job = try await harness.job(id)
            #expect(job.state == .succeeded)
            #expect(job.attempts == 2)
        }
    }

    @Test func aDelayedJobStartsWhenDueAndNotBefore() async throws {
        let clock = ManualClock()
        try await DispatcherHarness.run(clock: clock) { _ in
        } _: { harness in
            let id = try await harness.client.enqueue(
                [
                    JobRequest(
                        queue: "q", command: .argv(["true"]), workingDirectory: "/",
                        notBefore: clock.timestamp().advanced(by: .seconds(600)))
                ], now: clock.timestamp()
            ).first!.id
            try await clock.advanceToShortlyBefore(.seconds(600), of: "the producer's wait for the due time")
            #expect(try await harness.job(id).state == .pending)
            clock.advance(by: .seconds(20))
            try await harness.join()
            #expect(try await harness.job(id).state == .succeeded)
        }
    }

    /// Runs a dispatcher with one job whose handler sleeps for ten minutes unless stopped, and
    /// calls `body` once the job runs, with a way to wait until its handler was stopped.
    private func withOneLongJob(
        drainTimeout: Duration = .seconds(30),
        _ body: (DispatcherHarness, JobID, _ waitUntilStopped: () async throws -> Void) async throws -> Void
    ) async throws {
        let started = Gate()
        let stopped = Atomic<Bool>(false)
        try await DispatcherHarness.run(drainTimeout: drainTimeout) { _ in
            started.open()
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                stopped.store(true, ordering: .relaxed)
                throw error
            }
        } _: { harness in
            let id = try await harness.enqueue(1).first!
            await started.wait()
            try await waitUntil("job running", timeout: .seconds(20)) {
                try await harness.job(id).state == .running
            }
            try await body(harness, id) {
                try await waitUntil("the handler stopped", timeout: .seconds(20)) { stopped.load(ordering: .relaxed) }
            }
        }
    }

    /// Also during the drain: stopped by the cancel, long before the drain timeout (10 minutes).
    @Test(arguments: [false, true])
    func cancellingARunningJobStopsItsHandler(duringTheDrain: Bool) async throws {
        try await withOneLongJob(drainTimeout: .seconds(600)) { harness, id, waitUntilStopped in
            if duringTheDrain { harness.dispatcher.stop() }
            _ = try await harness.client.cancel([id])
            try await waitUntilStopped()
            try await harness.join()
            #expect(try await harness.job(id).state == .cancelled)
        }
    }

    @Test func endDrainNowStopsTheRunningJobWithoutWaitingForTheTimeout() async throws {
        try await withOneLongJob(drainTimeout: .seconds(600)) { harness, id, waitUntilStopped in
            harness.dispatcher.stop()
            harness.dispatcher.endDrainNow()
            // Stopped long before the drain timeout (10 minutes), and back to pending.
            try await waitUntilStopped()
            try await waitUntil("job back to pending", timeout: .seconds(20)) {
                try await harness.job(id).state == .pending
            }
            let job = try await harness.job(id)
            #expect(job.attempts == 1 && job.failures == 0 && !job.claimed)
        }
    }

    @Test func aFailedDependencyCancelsItsDependents() async throws {
        struct Failure: Error {}
        try await DispatcherHarness.run { job in
            if job.environment["FAIL"] != nil { throw Failure() }
        } _: { harness in
            let failing = try await harness.client.enqueue([
                JobRequest(queue: "q", command: .argv(["false"]), workingDirectory: "/", environment: ["FAIL": "1"])
            ]).first!.id
            let passing = try await harness.enqueue(1).first!
            let blocked = try await harness.enqueue(1, after: [failing, passing]).first!
            let runnable = try await harness.enqueue(1, after: [passing]).first!
            try await harness.join()
            #expect(try await harness.job(failing).state == .failed)
            #expect(try await harness.job(blocked).state == .cancelled)
            #expect(try await harness.job(runnable).state == .succeeded)
        }
    }

    @Test func gracefulStopLetsRunningJobsFinishAndReleasesTheRest() async throws {
        let gate = Gate()
        let concurrency = Concurrency()
        try await DispatcherHarness.run(concurrency: 1, capacity: 4) { _ in
            concurrency.enter()
            await gate.wait()
            concurrency.leave()
        } _: { harness in
            defer { gate.open() }
            let ids = try await harness.enqueue(10)
            try await harness.waitUntilHolding(running: 1, inMemory: 3)
            harness.dispatcher.stop()
            try await waitUntil("buffered jobs released", timeout: .seconds(20)) {
                try await harness.claimedUnstarted() == 0
            }
            #expect(try await harness.count(.running) == 1)
            gate.open()
            try await waitUntil("the running job finished", timeout: .seconds(20)) {
                try await harness.count(.succeeded) == 1
            }
            #expect(try await harness.job(ids[0]).state == .succeeded)
            #expect(try await harness.count(.pending) == 9)
            #expect(concurrency.peak == 1)
        }
    }

    /// Enqueues `blocking` jobs whose handler waits for `gate` (their environment has BLOCK),
    /// then `quick` ones, on queue "q".
    private func enqueueBlockingThenQuick(_ harness: DispatcherHarness, blocking: Int, quick: Int) async throws {
        try await harness.enqueue(blocking, environment: ["BLOCK": "1"])
        try await harness.enqueue(quick)
    }

    /// Runs a dispatcher (capacity 5) with `blocking` jobs running, which wait for the gate
    /// (opened at the end at the latest), and four quick ones held in memory behind them. `body`
    /// also gets the ids of the quick jobs in the order they started.
    private func withFourJobsHeldBehind(
        blocking: Int, _ body: (DispatcherHarness, Gate, _ quickStarts: () -> [JobID]) async throws -> Void
    ) async throws {
        let gate = Gate()
        let quickStarts = Mutex<[JobID]>([])
        try await DispatcherHarness.run(concurrency: blocking, capacity: 5) { job in
            if job.environment["BLOCK"] != nil {
                await gate.wait()
            } else {
                quickStarts.withLock { $0.append(job.id) }
            }
        } _: { harness in
            defer { gate.open() }
            try await enqueueBlockingThenQuick(harness, blocking: blocking, quick: 4)
            try await harness.waitUntilHolding(running: blocking, inMemory: 4)
            try await body(harness, gate, { quickStarts.withLock { $0 } })
        }
    }

    /// The settings changes that replace a queue's worker, as `updateQueue` arguments.
    static let replacingChanges: [(capacity: Int?, idleTimeout: Duration?)] = [(10, nil), (nil, .seconds(5))]

    @Test(arguments: replacingChanges)
    func jobsHeldInMemoryKeepTheirOrderWhenTheWorkerIsReplaced(capacity: Int?, idleTimeout: Duration?) async throws {
        try await withFourJobsHeldBehind(blocking: 1) { harness, gate, quickStarts in
            // Four more wait in the store: the buffer is full.
            try await harness.enqueue(4)
            try await harness.client.updateQueue(
                "q", capacity: capacity.map { .some($0) }, idleTimeout: idleTimeout.map { .some($0) })
            try await waitUntil("the worker replaced", timeout: .seconds(20)) {
                harness.log.count("queue capacity changed; replacing its worker")
                    + harness.log.count("queue concurrency or idle timeout lowered; replacing its worker") == 1
            }
            gate.open()
            try await harness.join()
            let order = quickStarts()
            #expect(order.count == 8)
            #expect(order == order.sorted(), "the quick jobs started out of their enqueue order")
        }
    }

    @Test func aCapacityChangeWhileEveryConsumerIsBusyStillRunsTheJobsHeldInMemory() async throws {
        try await withFourJobsHeldBehind(blocking: 1) { harness, gate, _ in
            try await harness.client.updateQueue("q", capacity: 10)
            try await waitUntil("the worker replaced", timeout: .seconds(20)) {
                harness.log.count("queue capacity changed; replacing its worker") == 1
            }
            // The old worker's consumer ends with the blocking job; its slot must reach the new one.
            gate.open()
            try await harness.join()
            #expect(try await harness.count(.succeeded) == 5)
        }
    }

    @Test func afterACapacityChangeReleasedJobsRunBesideTheOldWorkersRunningOnes() async throws {
        try await withFourJobsHeldBehind(blocking: 2) { harness, gate, _ in
            try await harness.client.updateQueue("q", concurrency: 4, capacity: 10)
            // Two slots are free: the four quick jobs run while the blocking ones still do.
            try await waitUntil("the quick jobs done", timeout: .seconds(20)) {
                try await harness.count(.succeeded) == 4
            }
            #expect(try await harness.count(.running) == 2)
            gate.open()
            try await harness.join()
        }
    }

    @Test func aHigherPriorityJobThatComesDueOvertakesTheJobsHeldInMemory() async throws {
        let clock = ManualClock()
        try await withAnUrgentJobDueBehind(inMemory: 9, dueIn: .seconds(60), clock: clock) { harness, _ in
            // Nothing in the store changes when it comes due: only the clock moves.
            try await clock.advanceToShortlyBefore(.seconds(60), of: "the wait for the delayed job")
            clock.advance(by: .seconds(21))
            try await waitUntil("the jobs in memory given back", timeout: .seconds(20)) {
                harness.log.count("a job outranks those in memory; releasing them") == 1
            }
        }
    }

    /// The producer has caught up with the store (3 jobs in a buffer of 10), so it sleeps until
    /// the delayed job's due time, and nothing else wakes it then. Real time: the due time is
    /// 300 ms away.
    @Test func aHigherPriorityJobThatComesDueOvertakesAFewJobsHeldInMemory() async throws {
        try await withAnUrgentJobDueBehind(inMemory: 3, dueIn: .milliseconds(300)) { harness, urgent in
            try await waitUntil("the delayed job taken into memory", timeout: .seconds(20)) {
                try await harness.job(urgent).claimed
            }
        }
    }

    /// Equal priority runs in enqueue order even for a job that becomes ready late (delayed, a
    /// retry, a dependent): it goes before later jobs of its priority held in memory, as it would
    /// with a capacity of 1. Before, it ran behind all of them.
    @Test func anEarlierJobOfTheSamePriorityThatComesDueGoesBeforeLaterOnesHeldInMemory() async throws {
        let clock = ManualClock()
        try await withAnUrgentJobDueBehind(inMemory: 3, dueIn: .seconds(60), priority: 0, clock: clock) {
            harness, due in
            try await clock.advanceToShortlyBefore(.seconds(60), of: "the wait for the delayed job")
            clock.advance(by: .seconds(21))
            try await waitUntil("the delayed job taken into memory", timeout: .seconds(20)) {
                try await harness.job(due).claimed
            }
        }
    }

    /// Runs a dispatcher (concurrency 1, capacity 10) with one job running, blocked, and
    /// `inMemory` quick ones held behind it, and a job of `priority` due in `dueIn`: enqueued
    /// after them when it outranks them, before them (right after the blocked one) when its
    /// priority is theirs (0). Calls `untilDue` (which returns once it came due); then lets the
    /// jobs run and expects that one to start right after the blocked one.
    private func withAnUrgentJobDueBehind(
        inMemory: Int, dueIn: Duration, priority: Int = 5, clock: any DispatcherClock = ContinuousClock(),
        _ untilDue: (DispatcherHarness, _ urgent: JobID) async throws -> Void
    ) async throws {
        let gate = Gate()
        let order = Mutex<[JobID]>([])
        try await DispatcherHarness.run(concurrency: 1, capacity: 10, idleTimeout: .seconds(3600), clock: clock) {
            job in
            order.withLock { $0.append(job.id) }
            if job.environment["BLOCK"] != nil { await gate.wait() }
        } _: { harness in
            defer { gate.open() }
            func enqueueDue() async throws -> JobID {
                try await harness.client.enqueue(
                    [
                        JobRequest(
                            queue: "q", command: .argv(["true"]), workingDirectory: "/", priority: priority,
                            notBefore: clock.timestamp().advanced(by: dueIn))
                    ], now: clock.timestamp())[0].id
            }
            try await harness.enqueue(1, environment: ["BLOCK": "1"])
            let earlier = priority == 0 ? try await enqueueDue() : nil
            try await harness.enqueue(inMemory)
            try await harness.waitUntilHolding(running: 1, inMemory: inMemory)
            let urgent: JobID
            if let earlier { urgent = earlier } else { urgent = try await enqueueDue() }
            try await untilDue(harness, urgent)
            gate.open()
            try await harness.join()
            let started = order.withLock { $0 }
            #expect(started.firstIndex(of: urgent) == 1, "\(started)")
            #expect(started.count == inMemory + 2)
        }
    }

    @Test func theDrainTimeoutInterruptsRunningJobsBackToPending() async throws {
        let clock = ManualClock()
        let started = Gate()
        try await DispatcherHarness.run(drainTimeout: .seconds(3600), clock: clock) { _ in
            started.open()
            try await Task.sleep(for: .seconds(600))
        } _: { harness in
            let id = try await harness.enqueue(1).first!
            await started.wait()
            try await waitUntil("job running", timeout: .seconds(20)) {
                try await harness.job(id).state == .running
            }
            harness.dispatcher.stop()
            try await clock.advanceToShortlyBefore(.seconds(3600), of: "the drain timer")
            #expect(try await harness.job(id).state == .running)
            clock.advance(by: .seconds(20))
            try await waitUntil("job back to pending", timeout: .seconds(20)) {
                try await harness.job(id).state == .pending
            }
            let job = try await harness.job(id)
            #expect(job.attempts == 1)
            #expect(job.failures == 0)
            #expect(!job.claimed)
        }
    }
}

extension ManualClock {
    /// Once a wait of `due` (started now) is armed, moves the clock to 20 s short of its end, and
    /// returns once a wait of 15 s or more is armed again: advancing fires the shorter timers, and
    /// a task they wake (a producer) re-arms its own wait, so a check made at once could miss it.
    func advanceToShortlyBefore(_ due: Duration, of what: String) async throws {
        try await waitUntil("\(what) armed", timeout: .seconds(20)) {
            sleepers(forAtLeast: due - .seconds(1)) >= 1
        }
        advance(by: due - .seconds(20))
        try await waitUntil("\(what) still armed", timeout: .seconds(20)) {
            sleepers(forAtLeast: .seconds(15)) >= 1
        }
    }
}
