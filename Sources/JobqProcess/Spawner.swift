import CJobqSystem
import Glibc
import Synchronization

/// The processes the supervisors in this process started and have not reaped yet, so that an orphan sweep
/// never takes the exit status of a job's process.
///
/// A pid is counted from the moment `posix_spawn` returns it until its supervisor has reaped it (a count, not
/// a set: the kernel may hand a reaped pid to the next spawn before its reaper has uncounted it). A spawn
/// whose pid is not known yet is counted in `spawning`, and a sweep waits for a moment when none is under way.
/// The lock is only ever held for bookkeeping, never across `posix_spawn` or a wait for a child.
struct TrackedChildren {
    private var counts: [Int32: Int] = [:]
    /// Spawns under way: their children may already exist (and even have exited) with pids not yet counted.
    private(set) var spawning = 0

    func contains(_ pid: Int32) -> Bool { counts[pid] != nil }

    mutating func spawnStarted() { spawning += 1 }

    /// Ends what `spawnStarted()` began; `pid` is the child, or `nil` when the spawn failed.
    mutating func spawnEnded(pid: Int32?) {
        spawning -= 1
        if let pid { counts[pid, default: 0] += 1 }
    }

    mutating func reaped(_ pid: Int32) {
        guard let count = counts[pid] else { return }
        counts[pid] = count > 1 ? count - 1 : nil
    }
}

let trackedChildren = Mutex(TrackedChildren())

/// A started process before the supervisor thread takes it over: its pid and our ends of its pipes.
struct SpawnedProcess: Sendable {
    var pid: Int32
    var startTime: UInt64
    var pidfd: Int32
    var stdoutFD: Int32
    var stderrFD: Int32
}

/// Starts processes with `posix_spawn` exactly the way jobs need: a new session (so its own process group,
/// pgid == pid, and no controlling terminal), default signal dispositions and an empty signal mask, stdin from
/// `/dev/null`, stdout and stderr into pipes, the job's directory, and no other descriptor inherited.
enum Spawner {
    static func spawn(_ spec: ProcessSpec) throws(SpawnError) -> SpawnedProcess {
        try validate(spec)
        let program = try resolveProgram(spec)
        let stdoutPipe = try makePipe()
        let stderrPipe: (read: Int32, write: Int32)
        do {
            stderrPipe = try makePipe()
        } catch {
            close(stdoutPipe.read)
            close(stdoutPipe.write)
            throw error
        }

        var pid: pid_t = 0
        let result = startProcess(
            program: program, spec: spec, stdoutWrite: stdoutPipe.write, stderrWrite: stderrPipe.write, pid: &pid)
        close(stdoutPipe.write)
        close(stderrPipe.write)
        guard result == 0 else {
            close(stdoutPipe.read)
            close(stderrPipe.read)
            throw diagnose(spawnError: result, spec: spec)
        }

        let pidfd = jobq_pidfd_open(pid)
        if pidfd < 0 {
            let error = SystemCallError(call: "pidfd_open", errno: errno)
            abandon(pid: pid)
            close(stdoutPipe.read)
            close(stderrPipe.read)
            throw .system(error)
        }
        // The child cannot have been reaped (only we reap it, after registration), so its /proc entry exists.
        guard let startTime = ProcessStat.startTime(of: pid) else {
            let error = SystemCallError(call: "read /proc/\(pid)/stat", errno: errno)
            abandon(pid: pid)
            close(pidfd)
            close(stdoutPipe.read)
            close(stderrPipe.read)
            throw .system(error)
        }
        return SpawnedProcess(
            pid: pid, startTime: startTime, pidfd: pidfd, stdoutFD: stdoutPipe.read, stderrFD: stderrPipe.read)
    }

    private static func validate(_ spec: ProcessSpec) throws(SpawnError) {
        guard !spec.argv.isEmpty else { throw .invalidCommand("the command is empty") }
        if let index = spec.argv.firstIndex(where: { $0.utf8.contains(0) }) {
            throw .invalidCommand("argument \(index) contains a NUL byte")
        }
        for (key, value) in spec.environment {
            if key.isEmpty || key.utf8.contains(0) || key.utf8.contains(UInt8(ascii: "=")) {
                throw .invalidCommand("invalid environment variable name '\(key)'")
            }
            if value.utf8.contains(0) {
                throw .invalidCommand("the value of environment variable '\(key)' contains a NUL byte")
            }
        }
        if spec.workingDirectory.isEmpty || spec.workingDirectory.utf8.contains(0) {
            throw .invalidCommand("invalid working directory '\(spec.workingDirectory)'")
        }
    }

    /// The path to execute: `argv[0]` itself when it has a slash, else the first executable regular file named
    /// `argv[0]` in the job's `PATH` (relative entries are relative to the job's directory, as for exec).
    private static func resolveProgram(_ spec: ProcessSpec) throws(SpawnError) -> String {
        let name = spec.argv[0]
        if name.utf8.contains(UInt8(ascii: "/")) { return name }
        guard !name.isEmpty else { throw .cannotRun(program: name, errno: ENOENT) }
        let searchPath = spec.environment["PATH"] ?? "/bin:/usr/bin"
        var deniedSomewhere = false
        for entry in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let directory = entry.isEmpty ? "." : String(entry)
            let candidate = directory + "/" + name
            let onDisk = candidate.hasPrefix("/") ? candidate : spec.workingDirectory + "/" + candidate
            var info = stat()
            guard stat(onDisk, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            if access(onDisk, X_OK) == 0 { return candidate }
            deniedSomewhere = true
        }
        throw .cannotRun(program: name, errno: deniedSomewhere ? EACCES : ENOENT)
    }

    /// A close-on-exec pipe whose read end (ours) is non-blocking. The write end stays blocking: the flag
    /// belongs to the shared open file description, and a job's stdout must behave normally. Both ends are
    /// kept above 2 so the child's `dup2` onto 0–2 can never clobber one of them.
    private static func makePipe() throws(SpawnError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard jobq_pipe_cloexec(&fds) == 0 else { throw .system(SystemCallError(call: "pipe2", errno: errno)) }
        for index in 0..<2 where fds[index] < 3 {
            let moved = fcntl(fds[index], F_DUPFD_CLOEXEC, Int32(3))
            let error = errno
            close(fds[index])
            fds[index] = moved
            if moved < 0 {
                if fds[1 - index] >= 0 { close(fds[1 - index]) }
                throw .system(SystemCallError(call: "fcntl(F_DUPFD_CLOEXEC)", errno: error))
            }
        }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        return (fds[0], fds[1])
    }

    /// Runs `posix_spawn`; returns its result (0 or an errno value). The spawn is counted in
    /// `trackedChildren` while it is under way, and its pid from then on.
    private static func startProcess(
        program: String, spec: ProcessSpec, stdoutWrite: Int32, stderrWrite: Int32, pid: inout pid_t
    ) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        var setupResults: [Int32] = [
            posix_spawn_file_actions_adddup2(&actions, stdoutWrite, 1),
            posix_spawn_file_actions_adddup2(&actions, stderrWrite, 2),
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0),
            jobq_spawn_addchdir(&actions, spec.workingDirectory),
            jobq_spawn_addclosefrom(&actions, 3),
        ]
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        let flags = Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) | jobq_posix_spawn_setsid
        setupResults += [
            posix_spawnattr_setsigdefault(&attributes, &allSignals),
            posix_spawnattr_setsigmask(&attributes, &noSignals),
            posix_spawnattr_setflags(&attributes, flags),
        ]
        if let failure = setupResults.first(where: { $0 != 0 }) { return failure }

        let environment = spec.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return withCStringArray(spec.argv) { argv in
            withCStringArray(environment) { envp in
                trackedChildren.withLock { $0.spawnStarted() }
                let result = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
                trackedChildren.withLock { $0.spawnEnded(pid: result == 0 ? pid : nil) }
                return result
            }
        }
    }

    /// Turns a `posix_spawn` failure into a clear error. glibc reports a failed `chdir` and a failed `exec`
    /// the same way (an errno), so the directory is examined to tell them apart.
    private static func diagnose(spawnError: Int32, spec: ProcessSpec) -> SpawnError {
        let directory = open(spec.workingDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory < 0 {
            return .cannotChangeDirectory(path: spec.workingDirectory, errno: errno)
        }
        close(directory)
        if access(spec.workingDirectory, X_OK) != 0 {
            return .cannotChangeDirectory(path: spec.workingDirectory, errno: errno)
        }
        return .cannotRun(program: spec.argv[0], errno: spawnError)
    }

    /// Kills and reaps a child that was started but cannot be supervised. The wait is blocking but brief:
    /// the child is in its own group and has just been sent SIGKILL.
    private static func abandon(pid: pid_t) {
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        trackedChildren.withLock { $0.reaped(pid) }
    }

    private static func withCStringArray<R>(
        _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R
    ) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
