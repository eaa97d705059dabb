import Foundation
import JobqCore
import JobqSQLite
import JobqTestSupport
import Testing

@testable import JobqStore

@Suite struct SchemaTests {
    let directory = TemporaryDirectory()

    static var fixtureSQL: String {
        get throws {
            let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            return try String(contentsOf: here.appendingPathComponent("Fixtures/schema-v1.sql"), encoding: .utf8)
        }
    }

    func schemaObjects(_ path: String) throws -> [String] {
        try withRawConnection(path) { connection in
            let statement = try connection.prepare(
                "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name")
            var objects: [String] = []
            while try statement.step() { objects.append(statement.string(at: 0) ?? "") }
            return objects
        }
    }

    @Test func upgradesAVersion1DatabaseInPlaceKeepingItsData() async throws {
        let path = directory.databasePath
        try withRawConnection(path) { try $0.execute(try Self.fixtureSQL) }
        #expect(try withRawConnection(path) { try $0.scalar("PRAGMA user_version") } == 1)

        let store = try await JobStore(path: path)
        #expect(try withRawConnection(path) { try $0.scalar("PRAGMA user_version") } == Int64(Schema.currentVersion))
        let done = try #require(try await store.job(1))
        #expect(done.state == .succeeded && done.command == .argv(["echo", "hello"]) && done.environment == ["A": "1"])
        #expect(done.stdout == Array("hello\n".utf8) && done.finishedAt == Timestamp(milliseconds: 1_700_000_002_000))
        // Version 3 counts what the old tails hold.
        #expect(done.stdoutBytes == 6 && done.stderrBytes == 0)
        #expect(
            try await store.queueSettings() == [
                QueueSettings(name: "default"),
                QueueSettings(name: "media", concurrency: 2, capacity: 50, idleTimeout: .seconds(30), paused: true),
            ])
        // The v2 view reads the old rows.
        let readable = try withRawConnection(path) { connection in
            try connection.text("SELECT enqueued || ' ' || finished FROM jobs_readable WHERE id = 1")
        }
        #expect(readable == "2023-11-14T22:13:20.000Z 2023-11-14T22:13:22.000Z")
        // The old jobs keep working: 3 waits for 2, which runs once its queue is resumed; 4 is delayed.
        #expect(try await store.claim(queue: "default", limit: 10, now: t0).isEmpty)
        #expect(try await store.nextDueTime(queue: "default") == Timestamp(milliseconds: 1_800_000_000_000))
        try await store.setPaused("media", false)
        let media = try await store.start(queue: "media", now: t0)
        #expect(media.map(\.id) == [2] && media[0].command == .shell("ffmpeg -i in.mkv out.mp4"))
        _ = try await store.finish(media[0], .succeeded, at: t0 + 1)
        #expect(try await store.claim(queue: "default", limit: 10, now: t0 + 1).map(\.id) == [3])
        // New ids continue after the old ones.
        #expect(try await store.enqueue([request()], now: t0)[0].id == 5)
    }

    @Test func migrationOneStillCreatesExactlyTheFixturesSchema() throws {
        let fixture = directory.path + "/fixture.db"
        let fresh = directory.path + "/fresh.db"
        try withRawConnection(fixture) { try $0.execute(try Self.fixtureSQL) }
        try withRawConnection(fresh) { try $0.execute(Schema.migrations[0].sql) }
        let fixtureObjects = try schemaObjects(fixture)
        #expect(fixtureObjects.count >= 8)
        #expect(try schemaObjects(fresh) == fixtureObjects)
    }

    @Test func migrationsAreNumberedInOrder() {
        #expect(Schema.migrations.map(\.version) == Array(1...Schema.migrations.count))
    }

    @Test func aNewerSchemaIsRefusedAndLeftUntouched() async throws {
        let path = directory.databasePath
        do { _ = try await JobStore(path: path) }
        try withRawConnection(path) { connection in
            try connection.execute("PRAGMA user_version = 99")
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        await #expect(throws: StoreError.newerSchema(path: path, found: 99, supported: Schema.currentVersion)) {
            try await JobStore(path: path)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        let message = StoreError.newerSchema(path: path, found: 99, supported: 2).description
        #expect(message.contains(path) && message.contains("99"))
    }

    @Test(arguments: [0o600, 0o640] as [mode_t])
    func filesBesideTheDatabaseGetItsModeWhateverTheUmask(mode: mode_t) async throws {
        let path = directory.path + "/new/dir/jobq.db"
        let old = umask(0)
        defer { umask(old) }
        let store = try await JobStore(path: path, fileMode: mode)
        _ = try await store.enqueue([request()], now: t0)
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            #expect(stat(file, &info) == 0, "\(file) missing")
            #expect(info.st_mode & 0o777 == mode, "\(file) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        for created in [directory.path + "/new", directory.path + "/new/dir"] {
            var info = stat()
            #expect(stat(created, &info) == 0 && info.st_mode & 0o777 == 0o700)
        }
    }

    /// The service's access model: in a setgid state directory (the unit's 2770 /var/lib/jobq) the
    /// database and everything the daemon creates beside it are 0660, so members of the group can
    /// enqueue, inspect and ring the doorbell; elsewhere they stay 0600.
    @Test(arguments: [(0o2770, 0o660), (0o0770, 0o600)] as [(mode_t, mode_t)])
    func filesInASetgidDirectoryAreGroupReadableAndWritable(directoryMode: mode_t, expected: mode_t) async throws {
        let shared = directory.path + "/state"
        #expect(mkdir(shared, 0o700) == 0 && chmod(shared, directoryMode) == 0)
        let path = shared + "/jobq.db"
        let old = umask(0o077)
        defer { umask(old) }
        let lock = try DaemonLock.acquire(databasePath: path)
        let store = try await JobStore(path: path)
        let listener = try Doorbell.Listener(databasePath: path)
        _ = try await store.enqueue([request()], now: t0)
        for file in [path, path + "-wal", path + "-shm", path + ".lock", path + ".sock"] {
            var info = stat()
            #expect(stat(file, &info) == 0, "\(file) missing")
            #expect(info.st_mode & 0o777 == expected, "\(file) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        listener.close()
        withExtendedLifetime(lock) {}
    }
}
