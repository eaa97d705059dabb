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

    /// Whether `path` is a regular file of no bytes with no other name (not a symbolic link, no
    /// second hard link).
    public static func isEmptyFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_size == 0
            && info.st_nlink == 1
    }

    /// The current user's home directory as `/etc/passwd` gives it, or `nil` when the user has no
    /// line there or no absolute home. The file is read directly rather than through
    /// `getpwuid_r`: in the statically linked `jobq`, glibc's NSS modules (loaded with `dlopen`)
    /// crash the process for a user that `files` does not know.
    public static func homeDirectoryOfCurrentUser() -> String? {
        let uid = String(getuid())
        return firstMatch(inLinesOf: "/etc/passwd") { line in
            // name:password:uid:gid:gecos:home:shell
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 7, fields[2] == uid, fields[5].hasPrefix("/") else { return nil }
            return String(fields[5])
        }
    }

    /// The first non-`nil` result of `match` over the lines of the text file at `path` (newline
    /// included; lines that are not UTF-8 are skipped), or `nil` when there is none or the file
    /// cannot be read.
    public static func firstMatch<T>(inLinesOf path: String, _ match: (String) -> T?) -> T? {
        guard let file = fopen(path, "re") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            guard let line, let text = String(validatingCString: line), let found = match(text) else { continue }
            return found
        }
        return nil
    }

    /// The current working directory, or `nil` when it cannot be read (e.g. it was deleted).
    public static func currentDirectory() -> String? {
        guard let buffer = getcwd(nil, 0) else { return nil }
        defer { free(buffer) }
        // A path that is not UTF-8 could not be stored (or used) unchanged.
        return String(validatingCString: buffer)
    }
}
