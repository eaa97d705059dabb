import JobqCore

#if canImport(Glibc)
    import Glibc
#endif

/// Creating the database file and its directory ourselves, before SQLite opens it, so that the
/// modes are exact whatever the umask (SQLite then gives `-wal` and `-shm` the file's mode).
enum DatabaseFile {
    /// Makes sure `path` exists as a regular file with one name (no symbolic or hard link): creates
    /// missing parent directories (0700) and the file itself (`mode`) when `createIfMissing`;
    /// never truncates or rewrites a file.
    static func prepare(path: String, mode: mode_t, createIfMissing: Bool) throws(StoreError) {
        guard !path.isEmpty else { throw .cannotOpen(path: path, reason: "the path is empty") }
        var info = stat()
        if lstat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFLNK {
                // SQLite opens it with SQLITE_OPEN_NOFOLLOW: a link could redirect a root daemon's writes.
                throw .cannotOpen(path: path, reason: "it is a symbolic link; give the path of the file itself")
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw .cannotOpen(path: path, reason: "not a regular file")
            }
            if info.st_nlink > 1 {
                // SQLite keeps the -wal and -shm files (and jobq its lock) beside the name: through
                // two names, two daemons or writers would each see their own log and overwrite the file.
                throw .cannotOpen(
                    path: path,
                    reason: "it has \(info.st_nlink) hard links; SQLite's write-ahead log goes by the file's "
                        + "name, so writers using different names would corrupt it: keep one name (or copy it)")
            }
            return
        }
        guard errno == ENOENT || errno == ENOTDIR else { throw .cannotOpen(path: path, reason: lastError()) }
        guard createIfMissing else { throw .cannotOpen(path: path, reason: "no such file") }
        try makeParentDirectories(of: path)
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        if descriptor < 0 {
            if errno == EEXIST { return }  // another process created it first
            if errno == EROFS { throw .readOnly(path: path) }
            throw .cannotOpen(path: path, reason: "cannot create the file: " + lastError())
        }
        defer { close(descriptor) }
        // open() applied the umask; set exactly what was asked for.
        if fchmod(descriptor, mode) != 0 {
            throw .cannotOpen(path: path, reason: "cannot set its mode: " + lastError())
        }
    }

    /// Refuses a database that users other than its owner and group may read or write, or whose
    /// `-wal` or `-shm` file they may: SQLite gives the files it creates beside a database the
    /// database's own mode. Symbolic links (mode 0777 by nature) are left to `prepare`, which
    /// refuses them with its own message.
    static func refuseIfOpenToOthers(path: String) throws(StoreError) {
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            // Only regular files: a directory or link given as the database is refused, with its
            // own reason, when it is opened.
            guard lstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_mode & S_IRWXO != 0 else {
                continue
            }
            let mode = String(info.st_mode & 0o7777, radix: 8)
            throw .cannotOpen(
                path: path,
                reason: "others may read or write \(file) (mode 0\(mode)), and SQLite gives the files it makes "
                    + "beside the database the database's mode; run chmod o-rwx on it")
        }
    }

    /// Creates each missing directory above `path` with mode 0700 (like `mkdir -p`); errors
    /// name `database`, the file they are for (by default `path` itself).
    static func makeParentDirectories(of path: String, for database: String? = nil) throws(StoreError) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let parent = String(path[..<slash])
        var info = stat()
        if stat(parent, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw .cannotOpen(path: database ?? path, reason: "\(parent) is not a directory")
            }
            return
        }
        try makeParentDirectories(of: parent, for: database ?? path)
        if mkdir(parent, 0o700) != 0 && errno != EEXIST {
            throw .cannotOpen(path: database ?? path, reason: "cannot create the directory \(parent): " + lastError())
        }
    }

    /// `path` with its directory's symbolic links resolved (`realpath`), the file name kept:
    /// SQLite opens with `SQLITE_OPEN_NOFOLLOW`, which refuses a link anywhere in the path, but
    /// only a link as the file itself is what that flag guards against (`prepare` refuses it).
    static func resolvingDirectoryLinks(_ path: String) -> String {
        let (directory, name): (String, Substring)
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
            name = path[path.index(after: slash)...]
        } else {
            (directory, name) = (".", Substring(path))
        }
        guard let resolved = realpath(directory, nil) else { return path }
        defer { free(resolved) }
        guard let real = String(validatingCString: resolved) else { return path }
        return (real == "/" ? "" : real) + "/" + name
    }

    /// The mode of the database and of the files beside it when none is given: 0600, or 0660
    /// when the directory is setgid. A setgid directory is a shared one, such as the service's
    /// `/var/lib/jobq` (mode 2770, group `jobq`), whose group members enqueue and inspect.
    static func defaultMode(databasePath path: String) -> mode_t {
        let parent: String
        if let slash = path.lastIndex(of: "/") {
            parent = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            parent = "."
        }
        var info = stat()
        guard stat(parent, &info) == 0, info.st_mode & S_ISGID != 0 else { return 0o600 }
        return 0o660
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}

/// Which file a path names now: its device and inode. How a daemon notices that the database it
/// serves, or its doorbell socket, was deleted or replaced under it.
public struct FileIdentity: Equatable, Sendable {
    public var device: UInt64
    public var inode: UInt64

    /// The file `path` names (following symbolic links), or `nil` when it names none.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        (device, inode) = (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}
