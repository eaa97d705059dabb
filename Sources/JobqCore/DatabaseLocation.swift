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

    /// Why no database path could be resolved.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        /// No `--db`, `JOBQ_DB` or `XDG_STATE_HOME`, and no home for the default one (`HOME`
        /// unset and no home in `/etc/passwd`: `env -i` as a user the container does not list,
        /// say) — better refused than a database at `/.local/...`.
        case noHome
        /// The variable that names the database is not valid UTF-8: jobq keeps paths as text, and
        /// would otherwise open a file of another name.
        case notUTF8(variable: String)

        public var description: String {
            switch self {
            case .noHome:
                "no database given, and no home for the default one (HOME is not set and /etc/passwd has no "
                    + "home for this user); use --db, JOBQ_DB or XDG_STATE_HOME"
            case .notUTF8(let variable):
                "$\(variable) is not valid UTF-8, and jobq keeps paths as text; name the database with UTF-8 "
                    + "(--db or JOBQ_DB)"
            }
        }
    }

    /// Resolves the database path.
    /// - Parameters:
    ///   - explicit: the value of `--db`, if given.
    ///   - environment: the process environment (`ProcessEnvironment.current`).
    ///   - notUTF8: the variables left out of it for not being UTF-8 (`ProcessEnvironment.notUTF8`).
    ///   - role: `jobq` or `jobqd`.
    ///   - fileExists: a seam for tests; defaults to asking the file system.
    ///   - homeDirectory: a seam for tests; defaults to the user's line in `/etc/passwd`.
    public static func resolve(
        explicit: String?,
        environment: [String: String],
        notUTF8: Set<String>,
        for role: Role,
        fileExists: (String) -> Bool = FileSystem.exists,
        homeDirectory: () -> String? = FileSystem.homeDirectoryOfCurrentUser
    ) throws(Problem) -> String {
        // The variable's value; a variable that is set but not UTF-8 stops the search.
        func variable(_ name: String) throws(Problem) -> String? {
            if notUTF8.contains(name) { throw .notUTF8(variable: name) }
            return environment[name]
        }
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = try variable("JOBQ_DB"), !fromEnvironment.isEmpty { return fromEnvironment }
        if role == .daemon, let stateDirectory = try variable("STATE_DIRECTORY"), !stateDirectory.isEmpty {
            // systemd may pass several colon-separated directories; the first is ours.
            let first = stateDirectory.split(separator: ":").first.map(String.init) ?? stateDirectory
            return first + "/jobq.db"
        }
        if fileExists(systemPath) { return systemPath }
        if let xdg = try variable("XDG_STATE_HOME"), xdg.hasPrefix("/") { return xdg + "/jobq/jobq.db" }
        guard let home = try variable("HOME").flatMap({ $0.isEmpty ? nil : $0 }) ?? homeDirectory() else {
            throw .noHome
        }
        return home + "/.local/state/jobq/jobq.db"
    }
}
