import JobqCore
import JobqSQLite
import JobqTestSupport
import Testing

@testable import JobqStore

@Suite struct RandomizedTests {
    let directory = TemporaryDirectory()

    @Test(arguments: [1, 2, 3, 42] as [UInt64])
    func randomOperationsKeepTheInvariants(seed: UInt64) async throws {
        var random = SeededRandom(seed: seed)
        let store = try await JobStore(path: directory.databasePath, durability: .normal)
        let queues = ["a", "b"]
        var now = t0
        var ids: [JobID] = []
        var claimedNotStarted: [JobID: Int] = [:]  // id -> attempt
        var running: [JobID: Int] = [:]
        var statesSeen = Set<JobState>()

        for step in 0..<600 {
            let context = Comment(rawValue: "seed \(seed), step \(step)")
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<20:  // enqueue
                let requests = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                    let dependencies =
                        ids.isEmpty || Bool.random(using: &random)
                        ? [] : [ids.randomElement(using: &random)!]
                    return request(
                        queue: queues.randomElement(using: &random)!, priority: Int.random(in: -2...2, using: &random),
                        notBefore: Bool.random(using: &random) ? now + Int64.random(in: 0...3000, using: &random) : nil,
                        retries: Int.random(in: 0...2, using: &random), backoff: .milliseconds(500), after: dependencies
                    )
                }
                ids += try await store.enqueue(requests, now: now).map(\.id)
            case 20..<40:  // claim
                let before = try await store.jobs()
                let claimed = try await store.claim(
                    queue: queues.randomElement(using: &random)!, limit: Int.random(in: 1...5, using: &random), now: now
                )
                let byID = Dictionary(uniqueKeysWithValues: before.map { ($0.id, $0) })
                for job in claimed {
                    #expect(
                        claimedNotStarted[job.id] == nil && running[job.id] == nil, "\(context.rawValue): claimed twice"
                    )
                    let stored = try #require(byID[job.id])
                    #expect(stored.state == .pending && !stored.claimed && stored.runAt <= now, context)
                    #expect(stored.dependencies.allSatisfy { byID[$0]?.state == .succeeded }, context)
                    #expect(job.attempt == stored.attempts + 1, context)
                    claimedNotStarted[job.id] = job.attempt
                }
            case 40..<55:  // start some claimed jobs
                let chosen = claimedNotStarted.filter { _ in Bool.random(using: &random) }
                let started = try await store.markRunning(chosen.map { ($0.key, $0.value, now, nil) })
                let states = try await store.states(of: Array(chosen.keys))
                for (id, attempt) in chosen {
                    claimedNotStarted[id] = nil
                    if started.contains(id) {
                        running[id] = attempt
                    } else {
                        #expect(states[id] != .running, "\(context.rawValue): not started but running")
                    }
                }
            case 55..<60:  // release some claimed jobs
                let chosen = claimedNotStarted.keys.filter { _ in Bool.random(using: &random) }
                try await store.release(Array(chosen))
                for id in chosen { claimedNotStarted[id] = nil }
            case 60..<78:  // finish a running job, sometimes with a stale attempt
                guard let (id, attempt) = running.randomElement(using: &random) else { break }
                let outcomes: [JobOutcome] = [
                    .succeeded, .failed(exitCode: 1, signal: nil, reason: nil), .timedOut(after: .seconds(1)),
                    .cancelled(reason: nil), .interrupted,
                ]
                let stale = Int.random(in: 0..<10, using: &random) == 0
                let result = JobResult(
                    id: id, attempt: stale ? attempt - 1 : attempt, outcome: outcomes.randomElement(using: &random)!,
                    finishedAt: now)
                let applied = try await store.finish([result])
                if stale {
                    #expect(applied.isEmpty, "\(context.rawValue): a stale result was applied")
                } else {
                    #expect(applied[id] != nil && applied[id] != .running, context)
                    running[id] = nil
                }
            case 78..<84:  // cancel
                guard !ids.isEmpty else { break }
                let chosen = (0..<Int.random(in: 1...3, using: &random)).map { _ in ids.randomElement(using: &random)! }
                _ = try await store.cancel(chosen, now: now)
            case 84..<90:  // retry
                guard !ids.isEmpty else { break }
                let chosen = (0..<Int.random(in: 1...3, using: &random)).map { _ in ids.randomElement(using: &random)! }
                let before = try await store.states(of: chosen)
                let result: [JobID: JobState]
                do {
                    result = try await store.retry(chosen, now: now)
                } catch {
                    guard case .retryBlocked = error else { throw error }
                    // All or nothing: refused, so nothing changed.
                    let after = try await store.states(of: chosen)
                    #expect(after == before, context)
                    break
                }
                // A retried job lost any claim it had: the daemon's copy can no longer be started.
                for (id, state) in result where state == .pending && before[id]?.isTerminal == true {
                    claimedNotStarted[id] = nil
                }
            case 90..<93:  // the daemon crashes and a new one recovers
                _ = try await store.requeueInterrupted(now: now)
                claimedNotStarted = [:]
                running = [:]
            case 93..<95:  // purge
                _ = try await store.purge(olderThan: now + -2000, states: [.succeeded, .failed, .cancelled], now: now)
                let remaining = try await store.states(of: ids)
                ids = ids.filter { remaining[$0] != nil }
            default:
                now = now + Int64.random(in: 1...1500, using: &random)
            }
            statesSeen.formUnion(
                try await checkInvariants(store, running: running, claimed: claimedNotStarted, context: context))
        }
        // The sequence reached every state, so the invariants were checked on all of them.
        #expect(statesSeen == Set(JobState.allCases))
    }

    func checkInvariants(
        _ store: JobStore, running: [JobID: Int], claimed: [JobID: Int], context: Comment
    ) async throws -> Set<JobState> {
        let jobs = try await store.jobs()
        let stats = try await store.queueStats()
        // queue_stats agrees with a count over jobs, and every job is counted exactly once.
        for stat in stats {
            let mine = jobs.filter { $0.queue == stat.name }
            #expect(stat.pending == mine.filter { $0.state == .pending }.count, context)
            #expect(stat.running == mine.filter { $0.state == .running }.count, context)
            #expect(stat.succeeded == mine.filter { $0.state == .succeeded }.count, context)
            #expect(stat.failed == mine.filter { $0.state == .failed }.count, context)
            #expect(stat.cancelled == mine.filter { $0.state == .cancelled }.count, context)
        }
        #expect(
            stats.map { $0.pending + $0.running + $0.succeeded + $0.failed + $0.cancelled }.reduce(0, +) == jobs.count,
            context)
        #expect(try await store.unfinishedCount() == jobs.filter { !$0.state.isTerminal }.count, context)
        // What runs is exactly what the daemon started; claims are exactly the daemon's.
        #expect(Set(jobs.filter { $0.state == .running }.map(\.id)) == Set(running.keys), context)
        for job in jobs where job.state == .running {
            #expect(job.attempts == running[job.id], context)
        }
        #expect(Set(jobs.filter(\.claimed).map(\.id)).isSubset(of: Set(claimed.keys)), context)
        #expect(jobs.allSatisfy { !$0.claimed || $0.state == .pending }, context)
        let byID = Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, $0) })
        for job in jobs {
            #expect(job.attempts >= job.failures, context)
            #expect(job.state.isTerminal == (job.finishedAt != nil), "\(context.rawValue): \(job.id) \(job.state)")
            guard job.state == .pending else { continue }
            let dependencyStates = job.dependencies.compactMap { byID[$0]?.state }
            #expect(
                !dependencyStates.contains(.failed) && !dependencyStates.contains(.cancelled),
                "\(context.rawValue): pending job \(job.id) waits on a failed or cancelled job")
            #expect(job.unmetDependencies == dependencyStates.filter { $0 != .succeeded }.count, context)
        }
        return Set(jobs.map(\.state))
    }
}
