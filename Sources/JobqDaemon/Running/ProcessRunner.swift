import JobqCore
import JobqProcess
import JobqStore

/// Runs jobs as child processes of the daemon, as SPEC §3 says: argv or `/bin/sh -c`, in
/// the job's directory, with the daemon's environment plus the job's plus `JOBQ_DB`,
/// `JOBQ_JOB_ID`, `JOBQ_QUEUE` and `JOBQ_ATTEMPT`, in a process group of its own. The
/// `JOBQ_*` variables always win over a job's own: recovery finds a crashed daemon's
/// leftover processes by them. Stopping a run (cancel,
/// timeout, drain) sends SIGTERM to the group and SIGKILL after `killGrace`.
public struct ProcessRunner: JobRunner {
    private let supervisor: ProcessSupervisor
    private let baseEnvironment: [String: String]
    private let databasePath: String
    private let killGrace: Duration
    private let outputTailLimit: Int

    /// - Parameters:
    ///   - supervisor: spawns and reaps the processes.
    ///   - baseEnvironment: the daemon's environment, which every job inherits.
    ///   - databasePath: the database, passed on as `JOBQ_DB` (so a job's `jobq` commands reach it).
    public init(
        supervisor: ProcessSupervisor,
        baseEnvironment: [String: String],
        databasePath: String,
        killGrace: Duration,
        outputTailLimit: Int
    ) {
        self.supervisor = supervisor
        self.baseEnvironment = baseEnvironment
        self.databasePath = databasePath
        self.killGrace = killGrace
        self.outputTailLimit = outputTailLimit
    }

    public func run(_ job: ClaimedJob, control: RunControl, observer: RunObserver) async -> RunReport {
        var environment = baseEnvironment.merging(job.environment) { $1 }
        environment["JOBQ_DB"] = databasePath
        environment["JOBQ_JOB_ID"] = String(job.id)
        environment["JOBQ_QUEUE"] = job.queue
        environment["JOBQ_ATTEMPT"] = String(job.attempt)
        let child: ChildProcess
        do {
            child = try supervisor.spawn(
                ProcessSpec(
                    command: job.command,
                    workingDirectory: job.workingDirectory,
                    environment: environment,
                    outputTailLimit: outputTailLimit,
                    killGrace: killGrace))
        } catch {
            return RunReport(outcome: .failed(exitCode: nil, signal: nil, reason: error.description))
        }
        observer.processStarted(
            ProcessRecord(pid: child.pid, processGroup: child.processGroup, startTime: child.startTime))
        let grace = killGrace
        control.onStop { _ in child.terminateGroup(grace: grace) }

        // `jobq logs --follow` reads the output so far, which the dispatcher saves now and then.
        control.provideOutput {
            let output = child.output()
            return RunOutput(
                stdout: output.stdout, stderr: output.stderr,
                written: output.stdoutByteCount + output.stderrByteCount)
        }
        // Throws only when this task is cancelled (the daemon going away without a drain).
        let termination = try? await child.wait()
        let output = child.output()
        let outcome: JobOutcome
        if let reason = control.stopReason {
            outcome = reason.outcome
        } else {
            switch termination {
            case .exited(0): outcome = .succeeded
            case .exited(let code):
                outcome = .failed(exitCode: Int(code), signal: nil, reason: Termination.exited(code).description)
            case .signaled(let signal):
                outcome = .failed(exitCode: nil, signal: Int(signal), reason: Termination.signaled(signal).description)
            case .statusLost: outcome = .failed(exitCode: nil, signal: nil, reason: Termination.statusLost.description)
            case nil:
                // Only when this task was cancelled (the daemon is going away without a drain):
                // stop the job and let it run again later.
                control.requestStop(.interrupted)
                outcome = StopReason.interrupted.outcome
            }
        }
        return RunReport(outcome: outcome, stdout: output.stdout, stderr: output.stderr)
    }
}
