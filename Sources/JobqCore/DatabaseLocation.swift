/// Finds the database file the way SPEC §4 says: `--db`, else `$JOBQ_DB`, else (for `jobqd`
/// only) `$STATE_DIRECTORY/jobq.db`, else `/var/lib/jobq/jobq.db` if it exists, else
/// `$XDG_STATE_HOME/jobq/jobq.db` (`~/.local/state/jobq/jobq.db`, where `~` is `$HOME`, or the
/// user's home in `/etc/passwd` when `HOME` is not set).
public enum DatabaseLocation {
    /// The system-wide database that a packaged `jobqd.service` uses.
    public static let systemPath = "/var/lib/jobq/jobq.db"

    /// Who is looking. `$STATE_DIRECTORY` is the daemon's: systemd sets it for `jobqd.service`,
    /// but also for any other service with a `StateDirectory=` of its own, whose `jobq add`
    /// must still reach the shared database.
    public enum Role: Sendable {
        case client, daemon
    }

    /// Resolves the database path; `nil` when none is given and there is no home to put the
    /// default one in (`HOME` unset and no home in `/etc/passwd`: `env -i` as a user the container
    /// does not list, say) — better refused than a database at `/.local/...`.
    /// - Parameters:
    ///   - explicit: the value of `--db`, if given.
    ///   - environment: the process environment.
    ///   - role: `jobq` or `jobqd`.
    ///   - fileExists: a seam for tests; defaults to asking the file system.
    ///   - homeDirectory: a seam for tests; defaults to the user's line in `/etc/passwd`.
    public static func resolve(
        explicit: String?,
        environment: [String: String],
        for role: Role,
        fileExists: (String) -> Bool = FileSystem.exists,
        homeDirectory: () -> String? = FileSystem.homeDirectoryOfCurrentUser
    ) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["JOBQ_DB"], !fromEnvironment.isEmpty { return fromEnvironment }
        if role == .daemon, let stateDirectory = environment["STATE_DIRECTORY"], !stateDirectory.isEmpty {
            // systemd may pass several colon-separated directories; the first is ours.
            let first = stateDirectory.split(separator: ":").first.map(String.init) ?? stateDirectory
            return first + "/jobq.db"
        }
        if fileExists(systemPath) { return systemPath }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/jobq/jobq.db" }
        guard let home = environment["HOME"].flatMap({ $0.isEmpty ? nil : $0 }) ?? homeDirectory() else { return nil }
        return home + "/.local/state/jobq/jobq.db"
    }

    /// Why `resolve` found no path, as the one-line error to show.
    public static let noDefaultProblem =
        "no database given, and no home for the default one (HOME is not set and /etc/passwd has no "
        + "home for this user); use --db, JOBQ_DB or XDG_STATE_HOME"
}
