import Glibc
import Testing

@testable import JobqProcess

@Suite("OutputTail")
struct OutputTailTests {
    private func appended(_ chunks: [[UInt8]], limit: Int) -> OutputTail {
        var tail = OutputTail(limit: limit)
        for chunk in chunks { chunk.withUnsafeBytes { tail.append($0) } }
        return tail
    }

    @Test(
        arguments: [
            ([[1, 2, 3]], 5, [1, 2, 3]),
            ([[1, 2, 3], [4, 5]], 5, [1, 2, 3, 4, 5]),
            ([[1, 2, 3], [4, 5, 6, 7]], 5, [3, 4, 5, 6, 7]),
            ([[1, 2, 3, 4, 5, 6, 7, 8]], 5, [4, 5, 6, 7, 8]),
            ([[1, 2, 3, 4], [5, 6], [7, 8, 9], [10]], 5, [6, 7, 8, 9, 10]),
            ([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11, 12, 13, 14]], 5, [10, 11, 12, 13, 14]),
            ([[1], [2], [3], [4], [5], [6], [7]], 3, [5, 6, 7]),
            ([[1, 2, 3]], 0, []),
        ] as [([[UInt8]], Int, [UInt8])])
    func keepsTheLastBytes(chunks: [[UInt8]], limit: Int, expected: [UInt8]) {
        let tail = appended(chunks, limit: limit)
        #expect(tail.bytes == expected)
        #expect(tail.totalBytes == UInt64(chunks.joined().count))
    }

    @Test func matchesASuffixForManyRandomChunkings() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let limit = Int.random(in: 1...40, using: &generator)
            var all: [UInt8] = []
            var chunks: [[UInt8]] = []
            for _ in 0..<Int.random(in: 0...20, using: &generator) {
                let chunk = (0..<Int.random(in: 0...50, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
                chunks.append(chunk)
                all += chunk
            }
            #expect(appended(chunks, limit: limit).bytes == Array(all.suffix(limit)))
        }
    }
}

@Suite("ProcessStat")
struct ProcessStatTests {
    private func line(comm: String) -> [UInt8] {
        Array(
            "1234 (\(comm)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615\n"
                .utf8)
    }

    @Test(arguments: ["sleep", "a b", "weird) (name", ") S 9 9 9", "(("])
    func parsesFieldsAfterTheLastParenthesis(comm: String) throws {
        let stat = try #require(ProcessStat.parse(line(comm: comm)))
        #expect(stat.pid == 1234)
        #expect(stat.state == "S")
        #expect(stat.parentPID == 1)
        #expect(stat.processGroup == 1234)
        #expect(stat.session == 1234)
        #expect(stat.startTime == 987654)
    }

    @Test func rejectsGarbage() {
        #expect(ProcessStat.parse(Array("".utf8)) == nil)
        #expect(ProcessStat.parse(Array("12 (x) S 1 2".utf8)) == nil)
        #expect(ProcessStat.parse(Array("no parenthesis at all".utf8)) == nil)
    }

    @Test func readsThisProcess() throws {
        let stat = try #require(ProcessStat.read(pid: getpid()))
        #expect(stat.pid == getpid())
        #expect(stat.parentPID == getppid())
        #expect(stat.processGroup == getpgrp())
        #expect(stat.session == getsid(0))
        #expect(stat.startTime > 0)
        #expect(ProcessStat.startTime(of: getpid()) == stat.startTime)
        #expect(ProcessStat.read(pid: Int32.max) == nil)
    }
}

@Suite("TrackedChildren")
struct TrackedChildrenTests {
    @Test func aSpawnIsUnderWayUntilItEnds() {
        var tracked = TrackedChildren()
        tracked.spawnStarted()
        #expect(tracked.spawning == 1)
        tracked.spawnEnded(pid: 41)
        #expect(tracked.spawning == 0)
        #expect(tracked.contains(41))
        tracked.spawnStarted()
        tracked.spawnEnded(pid: nil)
        #expect(tracked.spawning == 0)
        tracked.reaped(41)
        #expect(!tracked.contains(41))
    }

    /// The kernel may give a reaped pid to the next child before the reaper has uncounted it: the late
    /// uncounting must not make the new child fair game for an orphan sweep.
    @Test func aPidReusedBeforeItsReaperUncountedItStaysTracked() {
        var tracked = TrackedChildren()
        tracked.spawnStarted()
        tracked.spawnEnded(pid: 7)
        tracked.spawnStarted()
        tracked.spawnEnded(pid: 7)
        tracked.reaped(7)
        #expect(tracked.contains(7))
        tracked.reaped(7)
        #expect(!tracked.contains(7))
        tracked.reaped(7)
        #expect(!tracked.contains(7))
    }
}

@Suite("Termination")
struct TerminationTests {
    @Test(arguments: [
        (Termination.exited(0), "exit status 0"),
        (.exited(3), "exit status 3"),
        (.signaled(SIGKILL), "killed by signal 9 (SIGKILL)"),
        (.signaled(SIGTERM), "killed by signal 15 (SIGTERM)"),
        (.signaled(40), "killed by signal 40"),
    ])
    func describesItself(termination: Termination, text: String) {
        #expect(termination.description == text)
    }
}

@Suite("ChildLifecycle")
struct ChildLifecycleTests {
    let ms: UInt64 = 1_000_000

    @Test func aQuietExitFinishesAtOnce() {
        var lifecycle = ChildLifecycle()
        #expect(lifecycle.leaderDidExit() == [.checkGroup])
        #expect(lifecycle.groupChecked(empty: true, grace: 5000 * ms, now: 0) == [.finish(groupEmptied: true)])
        #expect(lifecycle.isFinished)
        #expect(lifecycle.nextDeadline == nil)
        #expect(lifecycle.terminateRequested(grace: 0, now: 1) == [])
    }

    @Test func terminateSendsSigtermOnceThenSigkillAtTheEarliestDeadline() {
        var lifecycle = ChildLifecycle()
        #expect(lifecycle.terminateRequested(grace: 1000 * ms, now: 0) == [.signalGroup(SIGTERM)])
        #expect(lifecycle.terminateRequested(grace: 5000 * ms, now: 10 * ms) == [])
        #expect(lifecycle.nextDeadline == 1000 * ms)
        #expect(lifecycle.terminateRequested(grace: 100 * ms, now: 20 * ms) == [])
        #expect(lifecycle.nextDeadline == 120 * ms)
        #expect(lifecycle.timerFired(now: 119 * ms) == [])
        #expect(lifecycle.timerFired(now: 120 * ms) == [.signalGroup(SIGKILL)])
        #expect(lifecycle.nextDeadline == nil)
        #expect(lifecycle.leaderDidExit() == [.checkGroup])
        #expect(lifecycle.groupChecked(empty: true, grace: 5000 * ms, now: 130 * ms) == [.finish(groupEmptied: true)])
    }

    @Test func leftoversGetSigtermThenChecksThenSigkill() {
        var lifecycle = ChildLifecycle()
        _ = lifecycle.leaderDidExit()
        #expect(lifecycle.groupChecked(empty: false, grace: 300 * ms, now: 0) == [.signalGroup(SIGTERM)])
        // Checks back off from 1 ms while the group is non-empty, never past the SIGKILL deadline.
        var now: UInt64 = 0
        var checks: [UInt64] = []
        while let deadline = lifecycle.nextDeadline, deadline < 300 * ms {
            now = deadline
            checks.append(now)
            #expect(lifecycle.timerFired(now: now) == [.checkGroup])
            #expect(lifecycle.groupChecked(empty: false, grace: 300 * ms, now: now) == [])
        }
        #expect(checks.prefix(3) == [1 * ms, 3 * ms, 7 * ms])
        #expect(zip(checks, checks.dropFirst()).allSatisfy { $1 - $0 <= 50 * ms })
        #expect(lifecycle.nextDeadline == 300 * ms)
        #expect(lifecycle.timerFired(now: 300 * ms) == [.checkGroup])
        #expect(lifecycle.groupChecked(empty: false, grace: 300 * ms, now: 300 * ms) == [.signalGroup(SIGKILL)])
        #expect(lifecycle.timerFired(now: lifecycle.nextDeadline!) == [.checkGroup])
        #expect(lifecycle.groupChecked(empty: true, grace: 300 * ms, now: 302 * ms) == [.finish(groupEmptied: true)])
    }

    @Test func aGroupThatNeverEmptiesIsAbandonedAfterSigkill() {
        var lifecycle = ChildLifecycle(abandonAfter: 100 * ms)
        #expect(lifecycle.terminateRequested(grace: 0, now: 0) == [.signalGroup(SIGTERM)])
        #expect(lifecycle.timerFired(now: 0) == [.signalGroup(SIGKILL)])
        _ = lifecycle.leaderDidExit()
        var now: UInt64 = 1 * ms
        var actions = lifecycle.groupChecked(empty: false, grace: 0, now: now)
        while actions.isEmpty {
            now = lifecycle.nextDeadline!
            #expect(lifecycle.timerFired(now: now) == [.checkGroup])
            actions = lifecycle.groupChecked(empty: false, grace: 0, now: now)
        }
        #expect(actions == [.finish(groupEmptied: false)])
        #expect(now == 100 * ms)
    }

    @Test func aTerminateRequestDuringLeftoverCleanupBringsSigkillCloser() {
        var lifecycle = ChildLifecycle()
        _ = lifecycle.leaderDidExit()
        #expect(lifecycle.groupChecked(empty: false, grace: 5000 * ms, now: 0) == [.signalGroup(SIGTERM)])
        #expect(lifecycle.terminateRequested(grace: 0, now: 0) == [])
        let deadline = lifecycle.nextDeadline!
        #expect(lifecycle.timerFired(now: deadline) == [.checkGroup])
        #expect(lifecycle.groupChecked(empty: false, grace: 5000 * ms, now: deadline) == [.signalGroup(SIGKILL)])
    }
}
