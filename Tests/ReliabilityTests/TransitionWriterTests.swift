import CSQLite
import JobqCore
import JobqStore
import JobqTestSupport
import Logging
import Synchronization
import Testing

@testable import JobqDaemon

@Suite("group commit under faults")
struct TransitionWriterTests {
    /// A store with two claimed jobs, the second already marked running: one start and one
    /// finish for a writer's batch.
    static func oneToStartOneToFinish(
        in directory: String, faults: FaultInjector
    ) async throws -> (JobStore, toStart: ClaimedJob, toFinish: ClaimedJob) {
        let store = try await JobStore(path: directory + "/jobq.db", faults: faults.seam)
        let request = JobRequest(queue: "default", command: .argv(["true"]), workingDirectory: "/")
        _ = try await store.enqueue([request, request])
        let claimed = try await store.claim(queue: "default", limit: 2)
        try #require(claimed.count == 2)
        _ = try await store.markRunning([(claimed[1].id, claimed[1].attempt, .now(), nil)])
        return (store, claimed[0], claimed[1])
    }

    /// Regression: a batch was once written in several transactions (starts, then process
    /// records and output, then results). When a later one failed, the retry marked the batch's
    /// jobs running a second time, which the store refused (they were running already), so the
    /// writer reported them as cancelled: the daemon never ran them and they stayed `running`
    /// until the next restart. A batch is now one transaction; a failure anywhere in it must
    /// still leave its starts startable.
    @Test("a batch retried after a failed commit still starts the jobs it had started")
    func retriedBatchKeepsItsStarts() async throws {
        try await withTemporaryDirectory { directory in
            let faults = FaultInjector()
            let (store, toStart, toFinish) = try await Self.oneToStartOneToFinish(in: directory, faults: faults)

            let writer = TransitionWriter(
                store: store, clock: ContinuousClock(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            // Both are submitted before the writer runs, so they are one batch.
            let start = Task.immediate {
                await writer.start(.init(id: toStart.id, attempt: toStart.attempt, startedAt: .now()))
            }
            let finish = Task.immediate {
                await withCheckedContinuation { written in
                    writer.finish(
                        JobResult(id: toFinish.id, attempt: toFinish.attempt, outcome: .succeeded, finishedAt: .now())
                    ) { written.resume(returning: $0) }
                }
            }
            faults.failSteps(startingWith: "UPDATE jobs SET state = 'succeeded'", with: SQLITE_IOERR, times: 1)
            async let written: Void = writer.run()
            let started = await start.value
            let finished = await finish.value
            writer.close()
            await written

            #expect(faults.injected == 1)
            #expect(started, "the job was reported as not startable")
            #expect(finished == .succeeded)
            let job = try #require(try await store.job(toStart.id))
            #expect(job.state == .running && job.attempts == 1)
        }
    }

    /// A second stop signal must end the daemon even on a full disk: the writer then drops what
    /// it cannot write instead of retrying it forever, and those jobs stay `running` in the
    /// database for the next daemon's recovery to put back.
    @Test("told to stop retrying, the writer drops a batch it cannot write and ends")
    func stopRetryingDropsWhatCannotBeWritten() async throws {
        try await withTemporaryDirectory { directory in
            let faults = FaultInjector()
            let (store, toStart, toFinish) = try await Self.oneToStartOneToFinish(in: directory, faults: faults)
            faults.failSteps(startingWith: "UPDATE jobs SET state = 'succeeded'", with: SQLITE_FULL)

            let writer = TransitionWriter(
                store: store, clock: ContinuousClock(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            let finishCalled = Atomic(false)
            let start = Task.immediate {
                await writer.start(.init(id: toStart.id, attempt: toStart.attempt, startedAt: .now()))
            }
            writer.finish(
                JobResult(id: toFinish.id, attempt: toFinish.attempt, outcome: .succeeded, finishedAt: .now())
            ) { _ in finishCalled.store(true, ordering: .relaxed) }
            async let written: Void = writer.run()
            // Retrying (the first wait is 50 ms, the later ones up to 5 s) until told otherwise.
            try await waitUntil("two failed commits", timeout: .seconds(10)) { faults.injected >= 2 }
            writer.stopRetrying()
            #expect(await start.value == false, "a start that was not written must not run")
            writer.close()
            await written

            let reported = finishCalled.load(ordering: .relaxed)
            #expect(!reported, "a result that was not written is not reported as written")
            #expect(try await store.job(toFinish.id)?.state == .running)
            let notStarted = try #require(try await store.job(toStart.id))
            #expect(notStarted.state == .pending && notStarted.attempts == 0)
        }
    }

    /// Process records cost no commit of their own: one waits for the next start or finish, or
    /// for `writeRecords()` (the dispatcher's output tick) when none comes.
    @Test("a process record is written with the next start, or when the records are asked for")
    func processRecordsRideAlong() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await JobStore(path: directory + "/jobq.db")
            let request = JobRequest(queue: "default", command: .argv(["true"]), workingDirectory: "/")
            _ = try await store.enqueue([request, request, request])
            let claimed = try await store.claim(queue: "default", limit: 3)
            try #require(claimed.count == 3)
            let (first, second, third) = (claimed[0], claimed[1], claimed[2])
            _ = try await store.markRunning([
                (first.id, first.attempt, .now(), nil), (third.id, third.attempt, .now(), nil),
            ])
            let writer = TransitionWriter(
                store: store, clock: ContinuousClock(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            async let written: Void = writer.run()

            let record = ProcessRecord(pid: 4242, processGroup: 4242, startTime: 99)
            writer.recordProcess(first.id, attempt: first.attempt, record)
            let started = await writer.start(.init(id: second.id, attempt: second.attempt, startedAt: .now()))
            #expect(started)
            #expect(try await store.job(first.id)?.process == record, "not written with the start")

            writer.recordProcess(third.id, attempt: third.attempt, record)
            writer.writeRecords()
            try await waitUntil("the record written on request", timeout: .seconds(10)) {
                try await store.job(third.id)?.process == record
            }
            writer.close()
            await written
        }
    }
}
