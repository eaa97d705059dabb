import CSQLite

/// A failed SQLite call: the primary and extended result codes, SQLite's message, the
/// statement that failed (when there was one) and the database file, so one line says it all.
public struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The primary result code (`SQLITE_BUSY`, `SQLITE_FULL`, …), i.e. `extendedCode & 0xff`.
    public var code: Int32
    /// The extended result code (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_IOERR_FSYNC`, …).
    public var extendedCode: Int32
    /// SQLite's own description (`sqlite3_errmsg`, or `sqlite3_errstr` when there is no connection).
    public var message: String
    /// The SQL being prepared or run, if any.
    public var sql: String?
    /// The database file the connection was opened on.
    public var path: String

    public init(code: Int32, extendedCode: Int32? = nil, message: String? = nil, sql: String? = nil, path: String) {
        self.code = code & 0xff
        self.extendedCode = extendedCode ?? code
        self.message = message ?? String(cString: sqlite3_errstr(code))
        self.sql = sql
        self.path = path
    }

    /// Whether the failure means another connection holds a lock (`SQLITE_BUSY` or `SQLITE_LOCKED`).
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }

    public var description: String {
        var text = "SQLite error \(code)"
        if extendedCode != code { text += "/\(extendedCode)" }
        text += " on \(path): \(message)"
        if let sql { text += " (in: \(sql.split(whereSeparator: \.isNewline).joined(separator: " ")))" }
        return text
    }
}
