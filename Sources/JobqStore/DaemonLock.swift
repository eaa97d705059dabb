import JobqCore

#if canImport(Glibc)
    import Glibc
#endif

/// The single-daemon lock: an exclusive `flock` on `<db>.lock` beside the database, held for
/// the life of this object. The kernel releases it when the process dies, however it dies, so
/// there is no stale lock to clean up. The file holds the holder's pid for the error message.
public final class DaemonLock: Sendable {
    /// The lock file.
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)  // releases the lock
    }

    /// The lock file beside the database.
    public static func lockPath(databasePath: String) -> String {
        databasePath + ".lock"
    }

    /// Takes the lock without waiting, creating the lock file (and missing directories, 0700) if needed.
    /// - Parameter mode: the lock file's mode, whatever the umask; by default the database's
    ///   (0600, or 0660 in a setgid directory).
    /// - Throws: `StoreError.daemonAlreadyRunning` (with the holder's pid) when another process
    ///   holds it; `.cannotOpen` when the file cannot be created or locked.
    public static func acquire(databasePath: String, mode: mode_t? = nil) throws(StoreError) -> DaemonLock {
        let path = lockPath(databasePath: databasePath)
        try DatabaseFile.makeParentDirectories(of: path)
        let mode = mode ?? DatabaseFile.defaultMode(databasePath: databasePath)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode)
        guard descriptor >= 0 else {
            throw .cannotOpen(
                path: databasePath, reason: "cannot open its lock file \(path): " + DatabaseFile.lastError())
        }
        guard fchmod(descriptor, mode) == 0 else {
            let reason = DatabaseFile.lastError()
            close(descriptor)
            throw .cannotOpen(path: databasePath, reason: "cannot set the mode of its lock file \(path): " + reason)
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let reason = DatabaseFile.lastError()
            let holder = readPid(descriptor)
            close(descriptor)
            if failure == EWOULDBLOCK { throw .daemonAlreadyRunning(path: databasePath, pid: holder) }
            throw .cannotOpen(path: databasePath, reason: "cannot lock its lock file \(path): " + reason)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return DaemonLock(path: path, descriptor: descriptor)
    }

    /// The process that holds this database's daemon lock now, or `nil` when none does (no
    /// daemon serves it). Read from `/proc/locks`, which takes no lock itself, so a daemon that
    /// starts meanwhile is never refused. An entry counts when it is a write `flock` on the lock
    /// file's inode and either its device matches too or its pid is the one the file records
    /// (btrfs shows another device there than `stat` does).
    ///
    /// Best effort: `/proc/locks` is not a snapshot. Read in pieces while other locks come and
    /// go (SQLite's, many per second on a busy machine), it can skip an entry. So when the entry
    /// is missing but the recorded process is alive, it is read again after a millisecond, up to
    /// three times in all.
    public static func holder(databasePath: String) -> pid_t? {
        let path = lockPath(databasePath: databasePath)
        var info = stat()
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard fstat(descriptor, &info) == 0 else { return nil }
        let (recorded, inode, device) = (readPid(descriptor), UInt64(info.st_ino), info.st_dev)
        for attempt in 1...3 {
            if let holder = lockEntry(inode: inode, device: device, recorded: recorded) { return holder }
            guard attempt < 3, let recorded, kill(recorded, 0) == 0 || errno == EPERM else { return nil }
            usleep(1_000)
        }
        return nil
    }

    /// The pid of the write `flock` on `inode` in `/proc/locks` (see `holder`).
    private static func lockEntry(inode: UInt64, device: dev_t, recorded: pid_t?) -> pid_t? {
        // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters have "->" after the number.
        FileSystem.firstMatch(inLinesOf: "/proc/locks") { line -> pid_t? in
            let fields = line.split(separator: " ")
            guard fields.count >= 6, fields[1] == "FLOCK", fields[3] == "WRITE", let pid = Int32(fields[4]) else {
                return nil
            }
            let file = fields[5].split(separator: ":")
            guard file.count == 3, UInt64(file[2]) == inode else { return nil }
            let (major, minor) = (UInt64(file[0], radix: 16), UInt64(file[1], radix: 16))
            let sameDevice = major == Self.major(device) && minor == Self.minor(device)
            guard sameDevice || pid == recorded else { return nil }
            // 0: the holder is in a process namespace this one cannot see.
            return pid != 0 ? pid : recorded
        }
    }

    /// glibc's `major(3)` and `minor(3)`, which are macros Swift cannot call.
    private static func major(_ device: dev_t) -> UInt64 {
        UInt64((device >> 8) & 0xfff) | UInt64((device >> 32) & ~0xfff)
    }

    private static func minor(_ device: dev_t) -> UInt64 {
        UInt64(device & 0xff) | UInt64((device >> 12) & ~0xff)
    }

    private static func readPid(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count].prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self))
    }
}
