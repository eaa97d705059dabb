#if canImport(Glibc)
    import Glibc
#endif

/// The few file-system questions the shared code asks, without Foundation.
public enum FileSystem {
    /// Whether anything exists at `path` (following symbolic links). A path this user may not
    /// look at (`EACCES`, e.g. a database in a state directory of a group the user is not in)
    /// counts as existing: opening it then reports the permission problem, where "missing"
    /// would silently read as an empty database or pick another one.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 || errno == EACCES
    }

    /// The current working directory, or `nil` when it cannot be read (e.g. it was deleted).
    public static func currentDirectory() -> String? {
        guard let buffer = getcwd(nil, 0) else { return nil }
        defer { free(buffer) }
        // A path that is not UTF-8 could not be stored (or used) unchanged.
        return String(validatingCString: buffer)
    }
}
