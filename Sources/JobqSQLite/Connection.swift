import CSQLite

#if canImport(Glibc)
    import Glibc
#endif

/// One SQLite connection: opened with explicit flags, extended result codes and a busy timeout,
/// with a cache of prepared statements (one per SQL string) and write transactions that take
/// the write lock up front (`BEGIN IMMEDIATE`).
///
/// A connection is confined to one thread: create and use it on a `DedicatedThreadExecutor`.
public final class Connection {
    /// The database file.
    public let path: String
    let handle: OpaquePointer
    let faults: SQLiteFaults?
    private let busyTimeoutMilliseconds: Int64
    private var cache: [String: Statement] = [:]

    /// Opens `path`.
    /// - Parameters:
    ///   - flags: `sqlite3_open_v2` flags; the default opens read-write, creating the file if needed,
    ///     refusing a symbolic link, in multi-thread mode (the connection is confined to one thread).
    ///   - busyTimeout: how long a statement waits for another connection's lock before
    ///     failing with `SQLITE_BUSY`.
    ///   - faults: the failure seam consulted before each step and commit.
    public init(
        path: String,
        flags: Int32 = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
        busyTimeout: Duration = .seconds(5),
        faults: SQLiteFaults? = nil
    ) throws(SQLiteError) {
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_EXRESCODE, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) }
            sqlite3_close_v2(handle)
            throw SQLiteError(code: code, message: message, path: path)
        }
        self.path = path
        self.handle = handle
        self.faults = faults
        let (seconds, attoseconds) = busyTimeout.components
        busyTimeoutMilliseconds = max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Int32(clamping: busyTimeoutMilliseconds))
    }

    deinit {
        cache.removeAll()  // finalizes every cached statement before the close
        sqlite3_close_v2(handle)
    }

    // MARK: Statements

    /// The cached prepared statement for `sql`, reset and with cleared bindings; prepared on first use.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        if let statement = cache[sql] {
            statement.reset()
            return statement
        }
        let statement = try Statement(connection: self, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// Runs one or more statements that take no parameters (DDL, pragmas), with SQLite's own parser.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        if code != SQLITE_OK {
            throw SQLiteError(
                code: code, extendedCode: sqlite3_extended_errcode(handle),
                message: message.map { String(cString: $0) }, sql: sql, path: path)
        }
    }

    /// The first column of the first row of `sql` as an integer (e.g. `PRAGMA user_version`),
    /// or `nil` when there is no row.
    public func scalar(_ sql: String) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        return try statement.step() ? statement.int64(at: 0) : nil
    }

    /// The text result of a pragma or query (e.g. `PRAGMA journal_mode = WAL` answers the mode now in effect).
    public func text(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        return try statement.step() ? statement.string(at: 0) : nil
    }

    // MARK: Transactions

    /// Runs `body` in a write transaction: `BEGIN IMMEDIATE` (waiting up to the busy timeout for
    /// the write lock, so the transaction never fails half-way because another writer came
    /// first), then `COMMIT`; any error rolls everything back and is rethrown.
    public func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try prepare("BEGIN IMMEDIATE").run()
        do {
            let result = try body()
            if let faults, let injected = faults.inject(.commit) {
                throw error(injected, sql: "COMMIT")
            }
            try prepare("COMMIT").run()
            return result
        } catch {
            rollbackIfNeeded()
            throw error
        }
    }

    /// Runs `body` in a read transaction so that several statements see one snapshot.
    public func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try prepare("BEGIN DEFERRED").run()
        do {
            let result = try body()
            try prepare("COMMIT").run()
            return result
        } catch {
            rollbackIfNeeded()
            throw error
        }
    }

    /// Whether a transaction is open.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    // MARK: Details

    /// The number of rows the last INSERT, UPDATE or DELETE changed.
    public var changes: Int { Int(sqlite3_changes64(handle)) }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Makes the running statement fail with `SQLITE_INTERRUPT` as soon as possible; callable
    /// from any thread while the connection is open.
    public func interrupt() {
        sqlite3_interrupt(handle)
    }

    /// The error for result `code` with this connection's message (or SQLite's generic text when
    /// the code was injected rather than reported by SQLite).
    func error(_ code: Int32, sql: String?) -> SQLiteError {
        let reported = sqlite3_extended_errcode(handle)
        if reported == code {
            return SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql, path: path)
        }
        return SQLiteError(code: code, sql: sql, path: path)
    }

    /// For the busy retry outside transactions: sleeps a millisecond and returns `true` while the
    /// busy timeout, counted from `startedAt` (the first try, so SQLite's own busy waiting
    /// counts too), has not passed.
    func waitBeforeRetry(startedAt: UInt64) -> Bool {
        guard Self.monotonicMilliseconds() < startedAt + UInt64(busyTimeoutMilliseconds) else { return false }
        usleep(1000)
        return true
    }

    private func rollbackIfNeeded() {
        // SQLite rolls back by itself after some errors (e.g. SQLITE_FULL in a statement).
        guard isInTransaction else { return }
        sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
    }

    static func monotonicMilliseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
    }
}

@available(*, unavailable, message: "a connection is confined to one thread; use it from a DedicatedThreadExecutor")
extension Connection: Sendable {}

/// The SQLite library this process runs with.
public enum SQLiteVersion {
    /// `sqlite3_libversion()`, e.g. "3.40.1".
    public static var text: String { String(cString: sqlite3_libversion()) }
}
