import CJobqSystem
import JobqCore
import JobqStore
import Logging
import ServiceLifecycle
import Synchronization

/// The daemon's main loop. It keeps one `QueueWorker` per queue in step with the `queues`
/// table, wakes producers when the store changes (doorbell, safety-net poll, retries and
/// dependents made claimable by results),
/// forwards cancel requests to running jobs, saves their output now and then (for
/// `jobq logs --follow`), keeps systemd's `STATUS=` current, and on graceful shutdown stops
/// intake, lets running jobs drain up to the drain timeout, then interrupts them.
public final class Dispatcher: Service {
    private let store: JobStore
    private let configuration: DaemonConfiguration
    private let clock: any DispatcherClock
    private let logger: Logger
    private let notifier: SystemdNotifier
    private let doorbell: Doorbell.Listener?
    private let writer: TransitionWriter
    private let running = RunningJobs()
    private let executor: JobExecutor
    /// Rung by doorbell rings and by `stop()`: time to look at the store again.
    private let wake = WakeSignal()
    /// Rung by `stop()`: starts the drain timeout.
    private let stopRequested = WakeSignal()
    /// Rung by `endDrainNow()`: the drain ends without waiting for its timeout.
    private let drainEndRequested = WakeSignal()
    /// Rung once no job runs any more and none will start: ends the output saver.
    private let drained = WakeSignal()
    /// Rung after results are written that may have made jobs claimable (retries,
    /// dependents), and by `stop()`.
    private let claimable = WakeSignal()
    private let state = Mutex(DispatcherState())
    /// Runs ended since start, for `STATUS=`.
    private let outcomes = OutcomeTally()

    private struct DispatcherState {
        var workers: [String: QueueWorker] = [:]
        var pools: [String: QueuePool] = [:]
        var stopping = false
        var ready = false
        /// When `workerEnded` last gave free memory back to the system.
        var memoryReleasedAt: ContinuousClock.Instant?
    }

    /// The most often `workerEnded` gives free memory back while other queues stay busy.
    static let memoryReleaseInterval = Duration.seconds(10)

    /// - Parameters:
    ///   - store: the daemon's store (already recovered).
    ///   - runner: runs the jobs (`ProcessRunner` in `jobqd`).
    ///   - doorbell: the wake-up socket clients ring after a commit; `nil` to rely on polling.
    ///   - clock: the time every wait and every recorded time is taken from.
    public init(
        store: JobStore,
        runner: any JobRunner,
        configuration: DaemonConfiguration,
        doorbell: Doorbell.Listener?,
        notifier: SystemdNotifier,
        logger: Logger,
        clock: any DispatcherClock = ContinuousClock()
    ) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.notifier = notifier
        self.doorbell = doorbell
        let claimable = self.claimable
        let writer = TransitionWriter(store: store, clock: clock, logger: logger) { claimable.signal() }
        self.writer = writer
        let outcomes = self.outcomes
        self.executor = JobExecutor(
            runner: runner, writer: writer, running: running, clock: clock, logger: logger,
            onFinish: { state in outcomes.count(state) })
    }

    /// Starts a graceful stop: no new jobs start; running ones may finish within the drain timeout.
    public func stop() {
        let workers = state.withLock { state -> [QueueWorker]? in
            guard !state.stopping else { return nil }
            state.stopping = true
            return Array(state.workers.values)
        }
        guard let workers else { return }
        notifier.notify("STOPPING=1\nSTATUS=Draining \(running.count) running jobs")
        logger.info(
            "stopping: no new jobs start",
            metadata: [
                "jobs.running": "\(running.count)",
                "drain.timeout": "\(DurationText.format(configuration.drainTimeout))",
            ])
        for worker in workers { worker.stopIntake() }
        stopRequested.signal()
        wake.signal()
        claimable.signal()
    }

    /// Ends the drain at once, as if its timeout had passed: running jobs are stopped and go back
    /// to pending, and transitions that cannot be written are no longer retried. Starts the stop
    /// first if it has not begun. `jobqd` calls it on a second SIGTERM
    /// or SIGINT, for whoever will not wait out `--drain-timeout`.
    public func endDrainNow() {
        stop()
        drainEndRequested.signal()
        // Nor wait for a database that refuses writes (a full disk): what cannot be written now
        // is dropped, and those jobs run again after the next start.
        writer.stopRetrying()
    }

    /// Runs until `stop()` (or graceful shutdown, or cancellation) and the drain ends.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await runUntilDrained()
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private enum Finished { case workers, drainTimeout, drainEndRequested }

    private func runUntilDrained() async {
        await withDiscardingTaskGroup { outer in
            outer.addTask { await self.writer.run() }
            if notifier.isEnabled {
                outer.addTask { await self.reportStatus() }
            }
            outer.addTask { await self.saveOutputs() }
            if let doorbell {
                outer.addTask {
                    for await _ in doorbell.rings() { self.wake.signal() }
                }
            }
            await withTaskGroup(of: Finished.self) { drain in
                drain.addTask {
                    await self.superviseWorkers()
                    return .workers
                }
                drain.addTask {
                    // Starts counting when the stop begins, not before.
                    while !self.state.withLock({ $0.stopping }) { await self.stopRequested.wait() }
                    let endRequested = await self.drainEndRequested.wait(
                        timeout: self.configuration.drainTimeout, on: self.clock)
                    return endRequested ? .drainEndRequested : .drainTimeout
                }
                let finished = await drain.next()
                if finished != .workers {
                    let count = running.count
                    if count > 0 {
                        logger.warning(
                            finished == .drainTimeout
                                ? "drain timeout passed; stopping the running jobs (interrupted ones go back to pending)"
                                : "asked to stop again; stopping the running jobs now (interrupted ones go back to pending)",
                            metadata: ["jobs.running": "\(count)"])
                    }
                    running.stopAll(.interrupted)
                    _ = await drain.next()
                }
                drain.cancelAll()
            }
            drained.signal()
            writer.close()
            // The writer finishes what was submitted; the doorbell reader ends with the group.
            doorbell?.close()
        }
        logger.info("stopped")
    }

    /// Keeps workers in step with the store until stopping, then waits for them all.
    private func superviseWorkers() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !self.state.withLock({ $0.stopping }) {
                    await self.claimable.wait()
                    // The reconcile wakes the workers of the queues with work and starts the
                    // missing ones (a queue whose worker has ended may have a dependent released).
                    self.wake.signal()
                }
            }
            var lastVersion: Int64 = -1
            while !state.withLock({ $0.stopping }) {
                do {
                    // Read the version first: a commit that lands while we look is then seen
                    // as a change by the next poll, even if its doorbell ring was missed.
                    lastVersion = try await store.dataVersion()
                    try await reconcile(&group)
                    try await forwardCancelRequests()
                    announceReadyOnce()
                } catch {
                    logger.error("cannot read queue settings; retrying", metadata: ["error": "\(error)"])
                }
                // Sleep until a doorbell ring (or the stop); poll the database now and then as a
                // safety net for writers that do not ring (e.g. the sqlite3 shell).
                while !state.withLock({ $0.stopping }) {
                    if await wake.wait(timeout: configuration.pollInterval, on: clock) { break }
                    if let version = try? await store.dataVersion(), version != lastVersion { break }
                }
            }
            // Draining: a cancel still stops a running job, until the last one has ended.
            while running.count > 0 {
                do {
                    try await forwardCancelRequests()
                } catch {
                    logger.error("cannot read cancel requests; retrying", metadata: ["error": "\(error)"])
                }
                // A doorbell ring (maybe a cancel), the poll, or the last run ending.
                await withTaskGroup(of: Void.self) { waits in
                    waits.addTask { _ = await self.wake.wait(timeout: self.configuration.pollInterval, on: self.clock) }
                    waits.addTask { _ = await self.running.emptied.wait() }
                    await waits.next()
                    waits.cancelAll()
                }
            }
        }
    }

    /// Saves the output of running jobs that wrote something since the last time, every
    /// `outputFlushInterval`, for `jobq logs --follow` — one task for all runs, so a short
    /// job costs nothing here — and has it written with the process records still waiting.
    /// Ends when the drain is over.
    private func saveOutputs() async {
        while await !drained.wait(timeout: configuration.outputFlushInterval, on: clock) {
            for control in running.all {
                guard let output = control.outputIfChanged() else { continue }
                writer.recordOutput(control.jobID, attempt: control.attempt, output)
            }
            writer.writeRecords()
        }
    }

    /// Keeps the service manager's `STATUS=` line current (`systemctl status jobqd`), at most
    /// once a second and only when it changed, until the stop begins.
    private func reportStatus() async {
        var last = ""
        while !state.withLock({ $0.stopping }) {
            if state.withLock({ $0.ready }) {
                let counts = outcomes.counts
                let buffered = state.withLock { $0.workers.values.reduce(0) { $0 + $1.buffered } }
                let status =
                    "STATUS=Running \(running.count) jobs, \(buffered) waiting in memory; since start "
                    + "\(counts[.succeeded, default: 0]) succeeded, \(counts[.failed, default: 0]) failed, "
                    + "\(counts[.cancelled, default: 0]) cancelled, \(counts[.pending, default: 0]) retried or put back"
                // A status the manager's queue had no room for is sent again next time.
                if status != last, notifier.notify(status) {
                    last = status
                }
            }
            await stopRequested.wait(timeout: .seconds(1), on: clock)
        }
    }

    private func announceReadyOnce() {
        let first = state.withLock { state -> Bool in
            defer { state.ready = true }
            return !state.ready
        }
        if first {
            notifier.notify("READY=1\nSTATUS=Taking jobs")
            logger.info("ready: taking jobs", metadata: ["db.path": "\(configuration.databasePath)"])
        }
    }

    /// Creates, updates or replaces workers to match the `queues` table, and wakes those whose
    /// queues have work. A queue without a worker gets one only when it has work (jobs due or
    /// delayed) or is paused (a worker that holds nothing); idle workers end by themselves
    /// (`QueueWorker`). Only queues with work, paused ones and those with workers are looked at,
    /// and only workers with work are woken: a daemon whose database has seen thousands of queue
    /// names spends nothing on the idle ones, and their workers can idle out between rings.
    private func reconcile(_ group: inout DiscardingTaskGroup) async throws {
        let served = try await store.queuesToServe(including: state.withLock { Array($0.workers.keys) })
        for (queue, hasWork) in served {
            let wanted = QueueWorker.Settings(
                concurrency: queue.concurrency ?? configuration.defaultConcurrency,
                capacity: max(1, queue.capacity ?? configuration.defaultCapacity),
                idleTimeout: queue.idleTimeout ?? configuration.defaultIdleTimeout,
                paused: queue.paused)
            let existing = state.withLock { $0.workers[queue.name] }
            if let existing, existing.appliesInPlace(wanted) {
                existing.update(wanted)
                if hasWork { existing.wake() }
                continue
            }
            if existing == nil, !queue.paused, !hasWork { continue }
            // Jobs a worker gives back (paused, replaced, outranked) are claimable again: the
            // reconcile that follows wakes whichever worker the queue has then.
            let claimable = self.claimable
            // One critical section for the queue's pool and its new worker: an old worker that
            // ends meanwhile (`workerEnded`) must not drop the pool the new one counts in, or the
            // next generation would count its consumers apart from this one's.
            let added = state.withLock { state -> QueueWorker? in
                guard !state.stopping else { return nil }
                let pool = state.pools[queue.name] ?? QueuePool(limit: wanted.concurrency)
                state.pools[queue.name] = pool
                let worker = QueueWorker(
                    name: queue.name, settings: wanted, pool: pool, store: store, executor: executor, clock: clock,
                    logger: logger, replacing: existing, onReleased: { claimable.signal() })
                state.workers[queue.name] = worker
                return worker
            }
            guard let worker = added else { return }
            if let existing {
                logger.info(
                    existing.capacity != wanted.capacity
                        ? "queue capacity changed; replacing its worker"
                        : "queue concurrency or idle timeout lowered; replacing its worker",
                    metadata: [
                        "queue.name": "\(queue.name)", "queue.capacity": "\(wanted.capacity)",
                        "queue.concurrency": "\(wanted.concurrency)",
                        "queue.idle.timeout": "\(DurationText.format(wanted.idleTimeout))",
                    ])
                existing.stopIntake()
            }
            group.addTask {
                await worker.run()
                self.workerEnded(worker)
            }
        }
    }

    /// Forgets a worker that ended (idle, or stopped), unless a newer one replaced it, and looks
    /// at the store again: work may have come for its queue while it was ending.
    ///
    /// Also gives the heap's free pages back to the system when the last worker ends, or at most
    /// every `memoryReleaseInterval` while others run: glibc keeps what a burst of queues freed
    /// (3 bursts of 3,000 one-job queues left `jobqd` at 96 MiB resident instead of 24 MiB).
    private func workerEnded(_ worker: QueueWorker) {
        let now = ContinuousClock.now
        let releaseMemory = state.withLock { state -> Bool in
            guard state.workers[worker.name] === worker else { return false }
            state.workers[worker.name] = nil
            if let pool = state.pools[worker.name], pool.active == 0 { state.pools[worker.name] = nil }
            let due = state.memoryReleasedAt.map { now - $0 >= Self.memoryReleaseInterval } ?? true
            guard state.workers.isEmpty || due else { return false }
            state.memoryReleasedAt = now
            return true
        }
        if releaseMemory { _ = jobq_release_free_memory() }
        wake.signal()
    }

    private func forwardCancelRequests() async throws {
        guard running.count > 0 else { return }
        for request in try await store.cancelRequests() {
            running.stop(request.id, attempt: request.attempt, reason: .cancelled)
        }
    }
}

/// How many runs ended since the daemon started, by the state they left their job in
/// (`nil`: the result was fenced off).
final class OutcomeTally: Sendable {
    private let tally = Mutex<[JobState?: Int]>([:])

    func count(_ state: JobState?) {
        tally.withLock { $0[state, default: 0] += 1 }
    }

    var counts: [JobState?: Int] { tally.withLock { $0 } }
}
