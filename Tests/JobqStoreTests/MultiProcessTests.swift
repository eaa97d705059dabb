import Foundation
import JobqCore
import JobqSQLite
import JobqTestSupport
import Testing

@testable import JobqStore

@Suite struct MultiProcessTests {
    let directory = TemporaryDirectory()

    @Test func concurrentProducersWhileOneConsumerClaimsNothingLostOrDuplicated() async throws {
        let path = directory.databasePath
        let producers = 4
        let perProducer = 400
        // The producers race this process to create and migrate the database, too.
        let children = try (0..<producers).map { index in
            try launchFixture(["enqueue", path, "work", "\(perProducer)", "25", "p\(index)"])
        }
        let store = try await JobStore(path: path, durability: .normal, busyTimeout: .seconds(30))
        var seen = Set<JobID>()
        var finished = 0
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(120)
        while finished < producers * perProducer && clock.now < deadline {
            let now = Timestamp.now()
            let claimed = try await store.claim(queue: "work", limit: 50, now: now)
            for job in claimed {
                #expect(seen.insert(job.id).inserted, "job \(job.id) was claimed twice")
            }
            if claimed.isEmpty {
                try await Task.sleep(for: .milliseconds(2))  // polling: the producers are still writing
                continue
            }
            let started = try await store.markRunning(claimed.map { ($0.id, $0.attempt, now, nil) })
            #expect(started.count == claimed.count)
            let results = claimed.map {
                JobResult(id: $0.id, attempt: $0.attempt, outcome: .succeeded, finishedAt: now)
            }
            finished += try await store.finish(results).count
        }
        for child in children {
            #expect(await waitForExit(child) == 0)
        }
        #expect(finished == producers * perProducer)
        let jobs = try await store.jobs(queue: "work")
        #expect(jobs.count == producers * perProducer)
        #expect(jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
        let tags = Set(
            jobs.map { job -> String in
                guard case .argv(let argv) = job.command else { return "" }
                return argv.last ?? ""
            })
        let expected = Set((0..<producers).flatMap { p in (0..<perProducer).map { "p\(p)-\($0)" } })
        #expect(tags == expected)
    }

    @Test func aWriterKilledMidBatchLeavesAllOrNothing() async throws {
        let path = directory.databasePath
        do {
            let store = try await JobStore(path: path)
            _ = try await store.enqueue((0..<10).map { request("before-\($0)") }, now: t0)
        }
        let marker = directory.path + "/in-batch"
        let child = try launchFixture(["hang-mid-batch", path, "5000", "4000", marker])
        try await waitUntil("the writer inside its batch", timeout: .seconds(120)) {
            FileManager.default.fileExists(atPath: marker)
        }
        kill(child.processIdentifier, SIGKILL)
        #expect(await waitForExit(child) != nil)
        #expect(child.terminationReason == .uncaughtSignal)
        // The batch overflowed the page cache, so uncommitted pages did reach the WAL.
        var info = stat()
        #expect(stat(path + "-wal", &info) == 0 && info.st_size > 20_000_000, "WAL size \(info.st_size)")

        let store = try await JobStore(path: path)
        let jobs = try await store.jobs()
        #expect(jobs.count == 10)
        #expect(
            jobs.allSatisfy { job in
                guard case .argv(let argv) = job.command else { return false }
                return argv[1].hasPrefix("before-")
            })
        #expect(try withRawConnection(path) { try $0.text("PRAGMA integrity_check") } == "ok")
        #expect(try await store.enqueue([request("after")], now: t0).count == 1)
    }

    @Test func theDaemonLockIsReleasedWhenItsHolderDies() async throws {
        let path = directory.databasePath
        let marker = directory.path + "/locked"
        let child = try launchFixture(["hold-lock", path, marker])
        try await waitUntil("the fixture holds the lock", timeout: .seconds(30)) {
            FileManager.default.fileExists(atPath: marker)
        }
        #expect(throws: StoreError.daemonAlreadyRunning(path: path, pid: child.processIdentifier)) {
            try DaemonLock.acquire(databasePath: path)
        }
        kill(child.processIdentifier, SIGKILL)
        #expect(await waitForExit(child) != nil)
        let lock = try DaemonLock.acquire(databasePath: path)
        #expect(lock.path == path + ".lock")
    }
}
