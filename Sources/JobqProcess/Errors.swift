import Glibc

/// A system call that failed, with the `errno` it set: the context for process errors.
public struct SystemCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call that failed, e.g. `pipe2` or `prctl(PR_SET_CHILD_SUBREAPER)`.
    public var call: String
    /// The `errno` value it reported.
    public var errno: Int32

    /// Records that `call` failed with `errno`.
    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// "pipe2: Too many open files".
    public var description: String { "\(call): \(errorText(errno))" }
}

/// Why a job's process could not be started. The job fails with `description` as its reason; the supervisor
/// and every other child are unaffected.
public enum SpawnError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The program could not be executed (missing, not executable, not a valid executable, or the system
    /// refused to create a process, e.g. `EAGAIN`).
    case cannotRun(program: String, errno: Int32)
    /// The working directory could not be entered.
    case cannotChangeDirectory(path: String, errno: Int32)
    /// The command is unusable before anything is tried: empty argv, or a NUL byte in an argument, an
    /// environment entry or the directory.
    case invalidCommand(String)
    /// The supervisor could not set up the process (pipes, pidfd, `/proc`), typically for lack of descriptors.
    case system(SystemCallError)

    /// One line for people: `cannot run 'nosuchprog': No such file or directory`.
    public var description: String {
        switch self {
        case .cannotRun(let program, let errno):
            "cannot run '\(program)': \(errorText(errno))"
        case .cannotChangeDirectory(let path, let errno):
            "cannot change to directory '\(path)': \(errorText(errno))"
        case .invalidCommand(let reason):
            "cannot run the command: \(reason)"
        case .system(let error):
            "cannot start the process: \(error)"
        }
    }
}

/// What `ProcessSupervisor.stopLeftoverGroup` found and did.
public enum LeftoverResult: Sendable, Hashable, CustomStringConvertible {
    /// No process was left in the group; nothing was signalled.
    case nothingLeft
    /// A process with pid == pgid exists but started at another time: the number was reused by an unrelated
    /// process, which was left alone.
    case pidReused
    /// The group was sent SIGTERM and emptied within the grace period.
    case stopped
    /// The group outlived the grace period and was sent SIGKILL, after which it emptied.
    case killed
    /// Even after SIGKILL the group did not empty (e.g. a member stuck in the kernel, or a zombie whose parent
    /// does not reap it).
    case survived
    /// The group could not be signalled (`EPERM`: it belongs to another user).
    case notPermitted
    /// The number cannot be a job's process group (≤ 1); nothing was signalled.
    case invalidGroup

    /// A short phrase for logs: "stopped with SIGTERM".
    public var description: String {
        switch self {
        case .nothingLeft: "nothing left"
        case .pidReused: "pid reused by another process, left alone"
        case .stopped: "stopped with SIGTERM"
        case .killed: "killed with SIGKILL after the grace period"
        case .survived: "still present after SIGKILL"
        case .notPermitted: "not permitted to signal the group"
        case .invalidGroup: "not a valid process group"
        }
    }
}

/// The text of an `errno` value ("No such file or directory"); glibc's `strerror` is thread-safe since 2.32.
func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
