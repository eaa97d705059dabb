/// Finds the database file the way SPEC §4 says: `--db`, else `$JOBQ_DB`, else (for `jobqd`
/// only) `$STATE_DIRECTORY/jobq.db`, else `/var/lib/jobq/jobq.db` if it exists, else
/// `$XDG_STATE_HOME/jobq/jobq.db` (`~/.local/state/jobq/jobq.db`).
public enum DatabaseLocation {
    /// The system-wide database that a packaged `jobqd.service` uses.
    public static let systemPath = "/var/lib/jobq/jobq.db"

    /// Who is looking. `$STATE_DIRECTORY` is the daemon's: systemd sets it for `jobqd.service`,
    /// but also for any other service with a `StateDirectory=` of its own, whose `jobq add`
    /// must still reach the shared database.
    public enum Role: Sendable {
        case client, daemon
    }

    /// Resolves the database path.
    /// - Parameters:
    ///   - explicit: the value of `--db`, if given.
    ///   - environment: the process environment.
    ///   - role: `jobq` or `jobqd`.
    ///   - fileExists: a seam for tests; defaults to asking the file system.
    public static func resolve(
        explicit: String?,
        environment: [String: String],
        for role: Role,
        fileExists: (String) -> Bool = FileSystem.exists
    ) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["JOBQ_DB"], !fromEnvironment.isEmpty { return fromEnvironment }
        if role == .daemon, let stateDirectory = environment["STATE_DIRECTORY"], !stateDirectory.isEmpty {
            // systemd may pass several colon-separated directories; the first is ours.
            let first = stateDirectory.split(separator: ":").first.map(String.init) ?? stateDirectory
            return first + "/jobq.db"
        }
        if fileExists(systemPath) { return systemPath }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/jobq/jobq.db" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        return home + "/.local/state/jobq/jobq.db"
    }
}
