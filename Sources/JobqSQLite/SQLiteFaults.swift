/// The failure seam: a hook a connection consults before each statement step and before each
/// `COMMIT`. Returning a result code (e.g. `SQLITE_FULL`, `SQLITE_BUSY`, `SQLITE_IOERR`) makes that
/// call fail with it as if SQLite had reported it, so tests can force faults that are hard to
/// provoke for real. `nil` lets the call proceed.
public struct SQLiteFaults: Sendable {
    /// Where a connection is about to call into SQLite.
    public enum Point: Sendable, Hashable {
        /// Before `sqlite3_step` of a statement (the SQL is given so a hook can pick its target).
        case step(sql: String)
        /// Before the `COMMIT` of a write transaction.
        case commit
    }

    /// The hook; it runs on the connection's thread, so it must be quick.
    public var inject: @Sendable (Point) -> Int32?

    public init(inject: @escaping @Sendable (Point) -> Int32?) {
        self.inject = inject
    }
}
