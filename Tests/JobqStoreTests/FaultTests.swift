import CSQLite
import Foundation
import JobqCore
import JobqSQLite
import JobqTestSupport
import Testing

@testable import JobqStore

@Suite struct FaultTests {
    let directory = TemporaryDirectory()

    @Test func aFileThatIsNotADatabaseIsNamedAndLeftAlone() async throws {
        let path = directory.databasePath
        let bytes = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) })
        try bytes.write(to: URL(fileURLWithPath: path))
        let error = await #expect(throws: StoreError.notADatabase(path: path)) { try await JobStore(path: path) }
        #expect(error?.description.contains(path) == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func anotherProgramsSQLiteDatabaseIsNamedAndLeftAlone() async throws {
        let path = directory.databasePath
        try Connection(path: path).execute("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = await #expect(throws: StoreError.foreignDatabase(path: path)) { try await JobStore(path: path) }
        #expect(error?.description.contains("not a jobq database") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func aDirectoryThatCannotBeCreated() async throws {
        await #expect(throws: StoreError.self) { try await JobStore(path: "/proc/jobq-no-such/dir/jobq.db") }
        let file = directory.path + "/plain-file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let error = await #expect(throws: StoreError.self) { try await JobStore(path: file + "/jobq.db") }
        #expect(error?.description == "cannot open database \(file)/jobq.db: \(file) is not a directory")
    }

    @Test func aDirectoryThatCannotBeWritten() async throws {
        // Root ignores directory permissions; sysfs refuses new files even to root.
        let path: String
        if geteuid() == 0 {
            path = "/sys/kernel/jobq-test.db"
        } else {
            let readOnly = directory.path + "/read-only"
            try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: false)
            chmod(readOnly, 0o500)
            path = readOnly + "/jobq.db"
        }
        let error = await #expect(throws: StoreError.self) { try await JobStore(path: path) }
        #expect(error?.description.contains(path) == true)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aSymbolicLinkOrADirectoryIsRefused() async throws {
        let real = directory.path + "/real.db"
        do { _ = try await JobStore(path: real) }
        let link = directory.path + "/link.db"
        #expect(symlink(real, link) == 0)
        await #expect(
            throws: StoreError.cannotOpen(path: link, reason: "it is a symbolic link; give the path of the file itself")
        ) { try await JobStore(path: link) }
        await #expect(throws: StoreError.cannotOpen(path: directory.path, reason: "not a regular file")) {
            try await JobStore(path: directory.path)
        }
    }

    @Test func aDatabaseWithASecondHardLinkIsRefusedByEitherName() async throws {
        let first = directory.path + "/first.db"
        do { _ = try await JobStore(path: first).enqueue([request()]) }
        let second = directory.path + "/second.db"
        #expect(link(first, second) == 0)
        for path in [first, second] {
            let error = await #expect(throws: StoreError.self) { try await JobStore(path: path) }
            #expect(error?.description.contains("\(path): it has 2 hard links") == true, "\(String(describing: error))")
        }
        #expect(unlink(second) == 0)
        #expect(try await JobStore(path: first).unfinishedCount() == 1)
    }

    @Test func aDatabaseUnderASymbolicallyLinkedDirectoryOpens() async throws {
        #expect(mkdir(directory.path + "/real", 0o700) == 0)
        #expect(symlink(directory.path + "/real", directory.path + "/linked") == 0)
        let store = try await JobStore(path: directory.path + "/linked/sub/jobq.db")
        _ = try await store.enqueue([request()])
        #expect(try await JobStore(path: directory.path + "/real/sub/jobq.db").unfinishedCount() == 1)
    }

    @Test func aDirectoryThatCannotBeCreatedIsNamedWithTheDatabase() async throws {
        let file = directory.path + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let path = file + "/a/b/jobq.db"
        await #expect(throws: StoreError.cannotOpen(path: path, reason: "\(file) is not a directory")) {
            try await JobStore(path: path)
        }
    }

    @Test func aMissingFileIsAnErrorWhenCreationIsNotWanted() async throws {
        let path = directory.databasePath
        await #expect(throws: StoreError.cannotOpen(path: path, reason: "no such file")) {
            try await JobStore(path: path, createIfMissing: false)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aWriterHoldingTheLockPastTheBusyTimeout() async throws {
        let path = directory.databasePath
        let store = try await JobStore(path: path, busyTimeout: .milliseconds(100))
        let existing = try await store.enqueue([request()], now: t0)[0]
        let other = try Connection(path: path)
        try other.execute("BEGIN IMMEDIATE")
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: StoreError.busy(path: path)) { try await store.enqueue([request()], now: t0) }
        #expect(clock.now - started >= .milliseconds(100), "gave up before the busy timeout")
        #expect(error?.description.contains(path) == true)
        // Readers are not blocked by a writer in WAL mode.
        #expect(try await store.job(existing.id) == existing)
        try other.execute("COMMIT")
        #expect(try await store.enqueue([request()], now: t0).count == 1)
    }

    @Test func diskFullAtCommitRollsBackAndTheStoreRecovers() async throws {
        let faults = FaultSwitch()
        let path = directory.databasePath
        let store = try await JobStore(path: path, faults: faults.faults)
        faults.failCommits(with: SQLITE_FULL)
        await #expect(throws: StoreError.diskFull(path: path)) {
            try await store.enqueue([request(queue: "new"), request()], now: t0)
        }
        faults.clear()
        #expect(try await store.jobs().isEmpty)
        #expect(try await store.queueStats().isEmpty)
        #expect(try await store.enqueue([request()], now: t0).count == 1)
    }

    @Test func diskFullMidBatchLeavesNothingHalfWritten() async throws {
        let faults = FaultSwitch()
        let path = directory.databasePath
        let store = try await JobStore(path: path, faults: faults.faults)
        faults.failSteps(startingWith: "INSERT INTO jobs", with: SQLITE_FULL, skip: 2)
        await #expect(throws: StoreError.diskFull(path: path)) {
            try await store.enqueue([request("1"), request("2"), request("3"), request("4")], now: t0)
        }
        faults.clear()
        #expect(try await store.jobs().isEmpty)
        #expect(try await store.enqueue([request("1"), request("2")], now: t0).count == 2)
    }

    @Test func aFailedGroupCommitChangesNoJob() async throws {
        let faults = FaultSwitch()
        let store = try await JobStore(path: directory.databasePath, durability: .normal, faults: faults.faults)
        _ = try await store.enqueue([request(), request()], now: t0)
        let runs = try await store.start(now: t0)
        faults.failCommits(with: SQLITE_IOERR)
        let results = runs.map { JobResult(id: $0.id, attempt: $0.attempt, outcome: .succeeded, finishedAt: t0 + 1) }
        let error = await #expect(throws: StoreError.self) { try await store.finish(results) }
        guard case .sqlite(let sqlite)? = error else {
            Issue.record("expected a SQLite error, got \(String(describing: error))")
            return
        }
        #expect(
            sqlite.code == SQLITE_IOERR && sqlite.sql == "COMMIT" && sqlite.description.contains(directory.databasePath)
        )
        #expect(try await store.jobs(states: [.running]).count == 2)
        faults.clear()
        #expect(try await store.finish(results).values.allSatisfy { $0 == .succeeded })
    }

    @Test func anInjectedBusyIsRetriedUntilTheTimeoutThenReported() async throws {
        let faults = FaultSwitch()
        let path = directory.databasePath
        let store = try await JobStore(path: path, busyTimeout: .milliseconds(50), faults: faults.faults)
        faults.failSteps(startingWith: "BEGIN IMMEDIATE", with: SQLITE_BUSY)
        await #expect(throws: StoreError.busy(path: path)) { try await store.enqueue([request()], now: t0) }
        #expect(try await store.jobs().isEmpty)
        // A busy that clears within the timeout is retried transparently.
        faults.failSteps(startingWith: "BEGIN IMMEDIATE", with: SQLITE_BUSY, times: 3)
        #expect(try await store.enqueue([request()], now: t0).count == 1)
    }
}
