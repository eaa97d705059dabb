import JobqCore
import JobqProcess
import JobqStore
import Synchronization

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
    /// The runs in progress: what escaped their process groups is left alone until they end.
    private let inProgress = RunsInProgress()

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
        let run = RunIdentity(id: job.id, attempt: job.attempt)
        inProgress.insert(run)
        defer { inProgress.remove(run) }
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
        control.provideOutput { CapturedOutput(child.output()) }
        // Throws only when this task is cancelled (the daemon going away without a drain).
        let termination = try? await child.wait()
        let output = child.output()
        let outcome: JobOutcome
        if let reason = control.stopReason {
            switch termination {
            case .exited(let code): outcome = reason.outcome(exitCode: Int(code))
            case .signaled(let signal): outcome = reason.outcome(signal: Int(signal))
            case .statusLost, nil: outcome = reason.outcome()
            }
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
                outcome = StopReason.interrupted.outcome()
            }
        }
        return RunReport(outcome: outcome, output: CapturedOutput(output))
    }

    /// Stops what ended runs left behind outside their process groups: live processes this daemon
    /// adopted as a subreaper (their parent exited) whose `JOBQ_*` marks name this database and a
    /// run that is no longer in progress. Each such process's group gets SIGTERM, then SIGKILL
    /// after the kill grace; processes without the marks are left alone.
    /// - Returns: the groups stopped, with the run each came from and how it went.
    public func stopEscapedProcesses() async -> [EscapedGroup] {
        var groups: [Int32: RunIdentity] = [:]
        for process in ProcessSupervisor.adoptedProcesses() {
            let marks = process.environment
            guard marks["JOBQ_DB"] == databasePath, let id = marks["JOBQ_JOB_ID"].flatMap({ JobID($0) }),
                let attempt = marks["JOBQ_ATTEMPT"].flatMap({ Int($0) }), process.processGroup > 1
            else { continue }
            let run = RunIdentity(id: id, attempt: attempt)
            if !inProgress.contains(run) { groups[process.processGroup] = run }
        }
        let grace = killGrace
        return await withTaskGroup(of: EscapedGroup.self) { stopping in
            for (processGroup, run) in groups {
                stopping.addTask {
                    let result = await ProcessSupervisor.stopLeftoverGroup(
                        processGroup: processGroup, leaderStartTime: ProcessStat.startTime(of: processGroup) ?? 0,
                        grace: grace)
                    return EscapedGroup(run: run, processGroup: processGroup, result: result)
                }
            }
            return await stopping.reduce(into: []) { $0.append($1) }
        }
    }
}

/// One run of a job: the job and the attempt.
public struct RunIdentity: Sendable, Hashable {
    public var id: JobID
    public var attempt: Int
}

/// A process group that an ended run left outside its own, and how stopping it went.
public struct EscapedGroup: Sendable {
    public var run: RunIdentity
    public var processGroup: Int32
    public var result: LeftoverResult
}

/// The runs a `ProcessRunner` (and its copies) has in progress.
private final class RunsInProgress: Sendable {
    private let runs = Mutex(Set<RunIdentity>())

    func insert(_ run: RunIdentity) { runs.withLock { _ = $0.insert(run) } }
    func remove(_ run: RunIdentity) { runs.withLock { _ = $0.remove(run) } }
    func contains(_ run: RunIdentity) -> Bool { runs.withLock { $0.contains(run) } }
}

extension CapturedOutput {
    /// What a process wrote, as the supervisor kept it.
    init(_ output: ProcessOutput) {
        self.init(
            stdout: output.stdout, stderr: output.stderr, stdoutBytes: Int64(output.stdoutByteCount),
            stderrBytes: Int64(output.stderrByteCount))
    }
}
