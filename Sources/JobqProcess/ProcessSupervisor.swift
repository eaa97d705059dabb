import CJobqSystem
import Glibc
import Logging

/// Starts job processes and supervises them from one dedicated thread: an epoll loop over each child's pidfd
/// (exit) and its stdout/stderr pipes (kept as bounded tails), which reaps every child, stops what a job
/// leaves in its process group, and resumes the tasks waiting for it. No blocking call ever runs on Swift's
/// cooperative thread pool.
///
/// Create one per daemon. Dropping the supervisor ends its thread once every child it started is over.
/// No other code in the process should reap children with `waitpid(-1, …)`: that would take the exit status
/// of a job (reported as `Termination.statusLost`).
public final class ProcessSupervisor: Sendable {
    let engine: SupervisorEngine

    /// Starts the supervisor thread. Throws only when the system is out of descriptors or threads.
    public init(logger: Logger) throws(SystemCallError) {
        engine = try SupervisorEngine(logger: logger)
        try engine.startThread()
    }

    deinit {
        engine.requestStop()
    }

    /// Starts a process as `spec` describes, in a new session (so in its own process group, pgid == pid, with
    /// no controlling terminal), with default signal dispositions, an empty signal mask, stdin from
    /// `/dev/null` and no inherited descriptors besides 0–2.
    ///
    /// Runs `posix_spawn` on the calling thread (it returns as soon as the program is executing). A failure
    /// throws a `SpawnError` whose description is one line for the job's record; the supervisor is unaffected.
    public func spawn(_ spec: ProcessSpec) throws(SpawnError) -> ChildProcess {
        let process = try Spawner.spawn(spec)
        let record = ChildRecord(
            serial: engine.nextSerial(), pid: process.pid, startTime: process.startTime,
            outputTailLimit: spec.outputTailLimit)
        engine.register(.init(record: record, process: process, killGrace: spec.killGrace.nanoseconds))
        engine.logger.debug(
            "started a process", metadata: ["process.pid": "\(process.pid)", "process.program": "\(spec.argv[0])"])
        return ChildProcess(record: record, engine: engine)
    }

    /// Makes this process a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`): what a job leaves behind when
    /// its parent dies is re-parented to us rather than to init, so it can be found and stopped with the job's
    /// group. This supervisor then also reaps such orphans: those in a job's group as part of stopping it, and
    /// any other exited orphan from outside our session within about a second.
    ///
    /// Process-wide and permanent; call it once, early. The sweep leaves alone every child in our own session,
    /// so processes that other code in this process starts directly (without a new session) keep their exit
    /// statuses for it.
    public func becomeSubreaper() throws(SystemCallError) {
        guard jobq_set_child_subreaper() == 0 else {
            throw SystemCallError(call: "prctl(PR_SET_CHILD_SUBREAPER)", errno: errno)
        }
        engine.enableOrphanSweeps()
    }
}
