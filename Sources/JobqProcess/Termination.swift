import Glibc

/// How a job's main process ended: its exit status, or the signal that killed it.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    /// The process called `exit` (or returned from `main`) with this status, 0–255.
    case exited(Int32)
    /// The process was killed by this signal number.
    case signaled(Int32)
    /// The status was taken by other code in this process that reaped the child behind the supervisor's back
    /// (e.g. a stray `waitpid(-1, …)`); the process is gone but how it ended is unknown.
    case statusLost

    /// Whether the process exited with status 0.
    public var isSuccess: Bool { self == .exited(0) }

    /// "exit status 3", "killed by signal 9 (SIGKILL)".
    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal):
            if let name = Self.signalName(signal) {
                "killed by signal \(signal) (\(name))"
            } else {
                "killed by signal \(signal)"
            }
        case .statusLost: "exit status unknown (reaped elsewhere)"
        }
    }

    /// The conventional name of a signal number (`SIGTERM`), or `nil` for real-time and unknown ones.
    public static func signalName(_ signal: Int32) -> String? {
        switch signal {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGUSR1: "SIGUSR1"
        case SIGSEGV: "SIGSEGV"
        case SIGUSR2: "SIGUSR2"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        case SIGCHLD: "SIGCHLD"
        case SIGCONT: "SIGCONT"
        case SIGSTOP: "SIGSTOP"
        case SIGTSTP: "SIGTSTP"
        case SIGTTIN: "SIGTTIN"
        case SIGTTOU: "SIGTTOU"
        case SIGURG: "SIGURG"
        case SIGXCPU: "SIGXCPU"
        case SIGXFSZ: "SIGXFSZ"
        case SIGVTALRM: "SIGVTALRM"
        case SIGPROF: "SIGPROF"
        case SIGWINCH: "SIGWINCH"
        case SIGIO: "SIGIO"
        case SIGPWR: "SIGPWR"
        case SIGSYS: "SIGSYS"
        default: nil
        }
    }
}
