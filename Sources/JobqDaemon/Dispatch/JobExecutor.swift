import JobqCore
import JobqStore
import Logging

/// Takes one claimed job through its run: mark it running (group-committed, waited for: a
/// job cancelled meanwhile must not start), hand it to the runner, submit the result
/// (group-committed, not waited for), and log the start and — once written — the end.
struct JobExecutor: Sendable {
    let runner: any JobRunner
    let writer: TransitionWriter
    let running: RunningJobs
    let clock: any DispatcherClock
    let logger: Logger
    /// Called after a result is written with the job's new state (`nil` when the result was
    /// fenced off).
    let onFinish: @Sendable (JobState?) -> Void

    func execute(_ job: ClaimedJob) async {
        let startedAt = clock.timestamp()
        guard await writer.start(.init(id: job.id, attempt: job.attempt, startedAt: startedAt)) else {
            logger.debug("job was cancelled before it started", metadata: ["job.id": "\(job.id)"])
            return
        }
        let control = RunControl(jobID: job.id, attempt: job.attempt)
        running.insert(control)
        // Removal must happen even if this task is cancelled, or the drain would wait on a ghost.
        defer { running.remove(control) }
        logger.info(
            "job started",
            metadata: ["job.id": "\(job.id)", "queue.name": "\(job.queue)", "job.attempt": "\(job.attempt)"])
        let writer = self.writer
        let observer = RunObserver(processStarted: { record in
            writer.recordProcess(job.id, attempt: job.attempt, record)
        })
        let report = await run(job, control: control, observer: observer)
        let finishedAt = clock.timestamp()
        let (logger, onFinish) = (self.logger, self.onFinish)
        writer.finish(
            JobResult(
                id: job.id, attempt: job.attempt, outcome: report.outcome, output: report.output,
                finishedAt: finishedAt)
        ) { state in
            onFinish(state)
            // Built only when the line is logged (an autoclosure): not per job at a quieter level.
            logger.info(
                "job finished",
                metadata: Self.finishMetadata(
                    job, outcome: report.outcome, state: state, duration: startedAt.duration(to: finishedAt)))
        }
    }

    /// The finish line's fields: the job, how it ended — with `job.exit_code` (0 for a success)
    /// or `job.signal` as the `jobs` columns of those names hold them, so that a log search needs
    /// no parsing of `job.outcome` — and its new state (`superseded` when fenced off).
    static func finishMetadata(
        _ job: ClaimedJob, outcome: JobOutcome, state: JobState?, duration: Duration
    ) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "job.id": "\(job.id)", "queue.name": "\(job.queue)", "job.attempt": "\(job.attempt)",
            "job.outcome": "\(outcome)", "job.duration": "\(DurationText.format(duration))",
            "job.state": "\(state.map(\.rawValue) ?? "superseded")",
        ]
        switch outcome {
        case .succeeded:
            metadata["job.exit_code"] = "0"
        case .failed(let exitCode, let signal, _), .timedOut(_, let exitCode, let signal),
            .cancelled(_, let exitCode, let signal):
            if let exitCode { metadata["job.exit_code"] = "\(exitCode)" }
            if let signal { metadata["job.signal"] = "\(signal)" }
        case .interrupted:
            break
        }
        return metadata
    }

    /// Hands the job to the runner, with its timeout armed: when it passes, the run is asked
    /// to stop like any other stop (cancel, drain), so runners need no timer of their own.
    private func run(_ job: ClaimedJob, control: RunControl, observer: RunObserver) async -> RunReport {
        guard let timeout = job.timeout else {
            return await runner.run(job, control: control, observer: observer)
        }
        return await withTaskGroup(of: Void.self) { group in
            group.addTask { [clock] in
                try? await clock.sleep(for: timeout)
                if !Task.isCancelled { control.requestStop(.timedOut(after: timeout)) }
            }
            let report = await runner.run(job, control: control, observer: observer)
            group.cancelAll()
            return report
        }
    }
}
