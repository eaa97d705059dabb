import Foundation
import JobqCore
import JobqTestSupport
import Testing

@testable import JobqStore

/// The number of elements `stream` delivers before it ends, or `nil` if it does not end in time.
func countUntilFinished(_ stream: AsyncStream<Void>, timeout: Duration = .seconds(10)) async -> Int? {
    await withTaskGroup(of: Int?.self) { group in
        group.addTask {
            var count = 0
            for await _ in stream { count += 1 }
            return count
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// Whether `stream` delivers an element within `timeout`.
func receivesRing(_ stream: AsyncStream<Void>, timeout: Duration = .seconds(10)) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            for await _ in stream { return true }
            return false
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
}

@Suite struct DoorbellAndLockTests {
    let directory = TemporaryDirectory()

    @Test func aClientWriteRingsTheDaemon() async throws {
        let path = directory.databasePath
        let store = try await JobStore(path: path)
        let listener = try Doorbell.Listener(databasePath: path)
        var info = stat()
        #expect(stat(path + ".sock", &info) == 0 && info.st_mode & 0o777 == 0o600)
        _ = try await store.enqueue([request()], now: t0)
        #expect(await receivesRing(listener.rings()))
        listener.close()
        #expect(!FileManager.default.fileExists(atPath: path + ".sock"))
        Doorbell.ring(databasePath: path)  // nobody listening: silently dropped
    }

    @Test func manyRingsCoalesce() async throws {
        let path = directory.databasePath
        let listener = try Doorbell.Listener(databasePath: path)
        for _ in 0..<50 { Doorbell.ring(databasePath: path) }
        let rings = listener.rings()
        #expect(await receivesRing(rings))
        listener.close()
        let rest = try #require(await countUntilFinished(rings))
        #expect(rest <= 1)
    }

    @Test func aStaleSocketIsReplaced() async throws {
        let path = directory.databasePath
        #expect(FileManager.default.createFile(atPath: path + ".sock", contents: Data()))
        let listener = try Doorbell.Listener(databasePath: path)
        Doorbell.ring(databasePath: path)
        #expect(await receivesRing(listener.rings()))
    }

    @Test func aSocketFileRemovedWhileListeningIsBoundAgain() async throws {
        let path = directory.databasePath
        let listener = try Doorbell.Listener(databasePath: path, checkInterval: .milliseconds(20))
        let socketFile = path + ".sock"
        #expect(unlink(socketFile) == 0)
        var info = stat()
        try await waitUntil("the socket bound again", timeout: .seconds(20)) {
            stat(socketFile, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
        }
        #expect(info.st_mode & 0o777 == 0o600)
        // Rebinding counts as a ring (those sent meanwhile were lost); then rings arrive again.
        #expect(await receivesRing(listener.rings()))
        Doorbell.ring(databasePath: path)
        #expect(await receivesRing(listener.rings()))
        listener.close()
        #expect(!FileManager.default.fileExists(atPath: socketFile))
    }

    /// Two listeners on one name happen only when a database was deleted under its daemon and a
    /// new daemon serves a new one: the old listener must not take the name back (they used to
    /// rebind it in turns, each losing the other's rings), nor remove the new socket as it closes.
    @Test func aSocketFileAnotherListenerBoundIsLeftToIt() async throws {
        let path = directory.databasePath
        let socketFile = path + ".sock"
        let old = try Doorbell.Listener(databasePath: path, checkInterval: .milliseconds(20))
        #expect(unlink(socketFile) == 0)
        let new = try Doorbell.Listener(databasePath: path, checkInterval: .milliseconds(20))
        var info = stat()
        #expect(stat(socketFile, &info) == 0)
        let inode = info.st_ino
        // Ten of the old listener's checks.
        try await Task.sleep(for: .milliseconds(200))
        #expect(stat(socketFile, &info) == 0 && info.st_ino == inode, "the old listener took the name back")
        old.close()
        #expect(stat(socketFile, &info) == 0 && info.st_ino == inode, "the old listener removed the new socket")
        Doorbell.ring(databasePath: path)
        #expect(await receivesRing(new.rings()))
        new.close()
        #expect(!FileManager.default.fileExists(atPath: socketFile))
    }

    @Test func aPathTooLongForASocketUsesAnAbstractName() async throws {
        let deep = directory.path + "/" + String(repeating: "d", count: 120)
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        let path = deep + "/jobq.db"
        let listener = try Doorbell.Listener(databasePath: path)
        #expect(listener.socketPath == nil)
        Doorbell.ring(databasePath: path)
        #expect(await receivesRing(listener.rings()))
    }

    @Test func oneDaemonPerDatabase() async throws {
        let path = directory.databasePath
        #expect(DaemonLock.holder(databasePath: path) == nil)
        var lock: DaemonLock? = try DaemonLock.acquire(databasePath: path)
        #expect(DaemonLock.holder(databasePath: path) == getpid())
        let error = #expect(throws: StoreError.daemonAlreadyRunning(path: path, pid: getpid())) {
            try DaemonLock.acquire(databasePath: path)
        }
        #expect(error?.description == "another jobqd is already running on \(path) (pid \(getpid()))")
        var info = stat()
        #expect(stat(path + ".lock", &info) == 0 && info.st_mode & 0o777 == 0o600)
        withExtendedLifetime(lock) {}
        lock = nil
        // Another test's process spawn may hold a copy of the descriptor for an instant (between
        // its fork and exec; the lock is close-on-exec), so the release is awaited, not assumed.
        try await waitUntil("the lock free again", timeout: .seconds(10)) {
            DaemonLock.holder(databasePath: path) == nil
        }
        #expect((try? DaemonLock.acquire(databasePath: path)) != nil)
    }
}
