import CSQLite

/// A prepared statement with typed binding and column access. Parameters are numbered from 1
/// and columns from 0, as in the C API. Finalized when released.
///
/// Confined to its connection's thread, like the connection.
public final class Statement {
    /// The SQL text it was prepared from.
    public let sql: String
    let handle: OpaquePointer
    private unowned let connection: Connection

    init(connection: Connection, sql: String) throws(SQLiteError) {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw connection.error(code, sql: sql)
        }
        self.sql = sql
        self.handle = handle
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(handle)
    }

    // MARK: Binding

    /// Binds an integer to parameter `index`.
    public func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    /// Binds an integer to parameter `index`.
    public func bind(_ value: Int, at index: Int32) throws(SQLiteError) {
        try bind(Int64(value), at: index)
    }

    /// Binds a floating-point number to parameter `index`.
    public func bind(_ value: Double, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_double(handle, index, value))
    }

    /// Binds UTF-8 text to parameter `index` (SQLite copies it).
    public func bind(_ value: String, at index: Int32) throws(SQLiteError) {
        var value = value
        let code = value.withUTF8 { buffer in
            jobq_sqlite3_bind_text(
                handle, index, UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self),
                Int32(buffer.count))
        }
        try check(code)
    }

    /// Binds bytes as a BLOB to parameter `index` (SQLite copies them; empty stays an empty blob).
    public func bind(_ value: [UInt8], at index: Int32) throws(SQLiteError) {
        let code = value.withUnsafeBytes { buffer in
            jobq_sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count))
        }
        try check(code)
    }

    /// Binds SQL NULL to parameter `index`.
    public func bindNull(at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, index))
    }

    /// Binds an optional integer (NULL for `nil`).
    public func bind(_ value: Int64?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    /// Binds an optional integer (NULL for `nil`).
    public func bind(_ value: Int?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(Int64(value), at: index) } else { try bindNull(at: index) }
    }

    /// Binds optional text (NULL for `nil`).
    public func bind(_ value: String?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    /// Binds optional bytes (NULL for `nil`).
    public func bind(_ value: [UInt8]?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    // MARK: Running

    /// Runs the statement to its next row: `true` when a row is available to read, `false` when
    /// it is done. On an error the statement is reset (bindings kept) and the error thrown.
    ///
    /// Outside a transaction, `SQLITE_BUSY`/`SQLITE_LOCKED` is retried until the connection's
    /// busy timeout (counted from the first try) has passed: nothing was changed, so running it
    /// again is safe, and some of these (`SQLITE_BUSY_RECOVERY`, `SQLITE_LOCKED`) never go
    /// through SQLite's own busy handler. (Inside a transaction a retry could see a different
    /// snapshot, so the error is thrown at once.)
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let started = Connection.monotonicMilliseconds()
        while true {
            let code: Int32
            if let faults = connection.faults, let injected = faults.inject(.step(sql: sql)) {
                code = injected
            } else {
                code = sqlite3_step(handle)
            }
            switch code {
            case SQLITE_ROW: return true
            case SQLITE_DONE: return false
            default:
                sqlite3_reset(handle)
                if code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED,
                    sqlite3_get_autocommit(connection.handle) != 0,
                    connection.waitBeforeRetry(startedAt: started)
                {
                    continue
                }
                throw connection.error(code, sql: sql)
            }
        }
    }

    /// Runs a statement that returns no rows (or whose rows are not needed) to completion.
    public func run() throws(SQLiteError) {
        while try step() {}
    }

    /// Makes the statement ready to run again and clears its bindings.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Reading the current row

    /// Whether column `index` of the current row is NULL.
    public func isNull(at index: Int32) -> Bool {
        sqlite3_column_type(handle, index) == SQLITE_NULL
    }

    /// Column `index` as an integer (0 for NULL).
    public func int64(at index: Int32) -> Int64 {
        sqlite3_column_int64(handle, index)
    }

    /// Column `index` as an `Int` (0 for NULL).
    public func int(at index: Int32) -> Int {
        Int(sqlite3_column_int64(handle, index))
    }

    /// Column `index` as an integer, or `nil` for NULL.
    public func optionalInt64(at index: Int32) -> Int64? {
        isNull(at: index) ? nil : int64(at: index)
    }

    /// Column `index` as an `Int`, or `nil` for NULL.
    public func optionalInt(at index: Int32) -> Int? {
        isNull(at: index) ? nil : int(at: index)
    }

    /// Column `index` as a floating-point number (0 for NULL).
    public func double(at index: Int32) -> Double {
        sqlite3_column_double(handle, index)
    }

    /// Column `index` as text, or `nil` for NULL (invalid UTF-8 is repaired with U+FFFD).
    public func string(at index: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// Calls `body` with the UTF-8 bytes of column `index` in place (no copy), or returns `nil`
    /// for NULL. The bytes are valid only during the call.
    public func withText<R, E: Error>(
        at index: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R
    ) throws(E) -> R? {
        guard let text = sqlite3_column_text(handle, index) else { return nil }
        return try body(UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, index))))
    }

    /// Column `index` as bytes (empty for NULL).
    public func blob(at index: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, index))
        guard count > 0, let bytes = sqlite3_column_blob(handle, index) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    private func check(_ code: Int32) throws(SQLiteError) {
        if code != SQLITE_OK { throw connection.error(code, sql: sql) }
    }
}

@available(*, unavailable, message: "a statement is confined to its connection's thread")
extension Statement: Sendable {}
