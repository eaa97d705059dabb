import JobqCore
import JobqProcess
import JobqStore
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// `jobqd` as a library: take the single-daemon lock, open the store, recover what a dead
/// daemon left behind, then run the dispatcher (and the systemd watchdog) until SIGTERM or
/// SIGINT, draining gracefully. The `jobqd` executable only parses options and calls this;
/// the tests call it too.
public struct Daemon: Sendable {
    public let configuration: DaemonConfiguration
    private let environment: [String: String]
    private let logger: Logger

    public init(configuration: DaemonConfiguration, environment: [String: String], logger: Logger) {
        self.configuration = configuration
        self.environment = environment
        self.logger = logger
    }

    /// Runs the daemon until SIGTERM, SIGINT or SIGHUP and the drain that follows; throws when it
    /// cannot start (another daemon holds the database, the database is unusable). The signals
    /// are handled from the first moment: one that comes during start-up lets recovery finish (it
    /// stops what a dead daemon's jobs left running) and then ends the daemon before it takes work.
    ///
    /// SIGHUP (the terminal of a daemon started by hand was closed) stops it as SIGTERM does,
    /// rather than killing it with its jobs left running. SIGPIPE is ignored: a reader of its
    /// log that goes away (`jobqd 2>&1 | grep -m1 ready`) must not kill it; jobs get every
    /// signal's default disposition back when they are spawned.
    public func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: DaemonService(daemon: self))],
                gracefulShutdownSignals: Self.stopSignals,
                logger: logger))
        try await group.run()
    }

    /// The signals that stop the daemon gracefully; a second one ends the drain at once.
    static let stopSignals: [UnixSignal] = [.sigterm, .sigint, .sighup]

    /// Start-up, then work until graceful shutdown: the lock, the store, recovery, then the
    /// dispatcher (with the systemd watchdog beside it until the drain has ended).
    fileprivate func serve() async throws {
        // Logged once SIGTERM and SIGINT are handled (the service group does that first).
        logger.info(
            "starting",
            metadata: [
                "version": "\(JobqVersion.current)", "db.path": "\(configuration.databasePath)",
                "concurrency.default": "\(configuration.defaultConcurrency)",
                "capacity.default": "\(configuration.defaultCapacity)",
                "idle.timeout": "\(DurationText.format(configuration.defaultIdleTimeout))",
                "drain.timeout": "\(DurationText.format(configuration.drainTimeout))",
                "kill.grace": "\(DurationText.format(configuration.killGrace))",
                "durability": "\(configuration.durability)",
            ])
        // Watched from the start, so that the first stop signal is counted even during start-up:
        // the service group handles that one (the graceful stop), `endDrainNow()` the next.
        let stopSignals = await UnixSignalsSequence(trapping: Self.stopSignals)
        let notifier = SystemdNotifier(environment: environment)
        let lock = try await acquireLock()
        defer { withExtendedLifetime(lock) {} }
        // The files the daemon makes beside the database must not be open to others (SPEC §5).
        try JobStore.refuseIfOpenToOthers(path: configuration.databasePath)
        guard let store = try await openAndRecover(notifier: notifier), !Task.isShuttingDownGracefully else {
            notifier.notify("STOPPING=1")
            logger.info("stopping before taking work: asked to during start-up")
            return
        }

        let supervisor = try ProcessSupervisor(logger: logger)
        var subreaper = true
        do {
            try supervisor.becomeSubreaper()
        } catch {
            subreaper = false
            logger.warning(
                "cannot become a child subreaper; processes a job leaves after its parent exits escape the group stop",
                metadata: ["error": "\(error)"])
        }
        let runner = ProcessRunner(
            supervisor: supervisor,
            baseEnvironment: jobEnvironment(),
            databasePath: configuration.databasePath,
            killGrace: configuration.killGrace,
            outputTailLimit: configuration.outputTailLimit)
        let doorbell: Doorbell.Listener?
        do {
            doorbell = try Doorbell.Listener(databasePath: configuration.databasePath)
        } catch {
            logger.warning(
                "no doorbell socket; new jobs are noticed by polling only",
                metadata: ["error": "\(error)", "poll.interval": "\(DurationText.format(configuration.pollInterval))"])
            doorbell = nil
        }
        let dispatcher = Dispatcher(
            store: store, runner: runner, configuration: configuration, doorbell: doorbell, notifier: notifier,
            logger: logger)
        let served = FileIdentity(path: configuration.databasePath)
        let lost = try await withThrowingTaskGroup { group in
            if let interval = notifier.watchdogInterval {
                let watchdog = Watchdog(notifier: notifier, interval: interval, store: store)
                group.addTask {
                    await watchdog.run()
                    return false
                }
            }
            group.addTask {
                var signals = stopSignals.makeAsyncIterator()
                guard await signals.next() != nil, await signals.next() != nil else { return false }
                dispatcher.endDrainNow()
                return false
            }
            if subreaper {
                group.addTask {
                    while !Task.isCancelled {
                        await stopEscapedProcesses(runner)
                        try? await Task.sleep(for: Self.escapedProcessSweepInterval)
                    }
                    return false
                }
            }
            if let served {
                group.addTask { await watchDatabase(served, dispatcher: dispatcher) }
            }
            try await dispatcher.run()
            group.cancelAll()
            var lost = false
            while let ended = try await group.next() { lost = lost || ended }
            return lost
        }
        // Every run has ended: nothing they left may outlive the daemon.
        if subreaper { await stopEscapedProcesses(runner) }
        if lost { throw DatabaseLost(path: configuration.databasePath) }
    }

    /// How often the daemon looks whether its database is still the file the path names.
    static let databaseCheckInterval = Duration.seconds(1)

    /// Returns `true` (after stopping the dispatcher at once) when the database path no longer
    /// names the file the daemon opened — deleted, or replaced by another — and `false` when
    /// cancelled. Serving a deleted file would lose every job enqueued meanwhile into the new one
    /// at that path, which a second daemon would then take (the lock file went too).
    private func watchDatabase(_ served: FileIdentity, dispatcher: Dispatcher) async -> Bool {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.databaseCheckInterval)
            guard !Task.isCancelled else { break }
            guard FileIdentity(path: configuration.databasePath) != served else { continue }
            logger.critical(
                "the database was deleted or replaced while jobqd served it; stopping now",
                metadata: ["db.path": "\(configuration.databasePath)"])
            dispatcher.endDrainNow()
            return true
        }
        return false
    }

    /// How often processes that ended runs left outside their groups are looked for.
    static let escapedProcessSweepInterval = Duration.seconds(1)

    /// Stops and logs what ended runs left outside their process groups (see
    /// `ProcessRunner.stopEscapedProcesses`).
    private func stopEscapedProcesses(_ runner: ProcessRunner) async {
        for escaped in await runner.stopEscapedProcesses() {
            logger.info(
                "stopped what an ended job left running outside its process group",
                metadata: [
                    "job.id": "\(escaped.run.id)", "job.attempt": "\(escaped.run.attempt)",
                    "process.group": "\(escaped.processGroup)", "result": "\(escaped.result)",
                ])
        }
    }

    /// Takes the single-daemon lock. A daemon killed while it was spawning a job leaves the lock
    /// held for a few milliseconds after its death: the new child keeps a copy of the lock's
    /// descriptor until its `exec`. So when the pid recorded in the lock file is gone, this waits
    /// for the release (up to `lockReleaseWait`) instead of refusing to start; a live holder is
    /// refused at once.
    private func acquireLock() async throws -> DaemonLock {
        let deadline = ContinuousClock.now + Self.lockReleaseWait
        var waiting = false
        while true {
            do {
                return try DaemonLock.acquire(databasePath: configuration.databasePath)
            } catch {
                guard case .daemonAlreadyRunning(_, let holder?) = error, kill(holder, 0) != 0, errno == ESRCH,
                    ContinuousClock.now < deadline
                else { throw error }
                if !waiting {
                    waiting = true
                    logger.notice(
                        "the database lock is still held, but its daemon is gone; waiting for the release",
                        metadata: ["db.path": "\(configuration.databasePath)", "lock.holder.pid": "\(holder)"])
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// How long a lock left held by a dead daemon's remnants may take to be released.
    static let lockReleaseWait = Duration.seconds(2)

    /// Opens the store and recovers. While another process keeps the database locked past the
    /// busy timeout (a long-running backup, a `sqlite3` shell left inside a transaction), it
    /// retries with backoff, saying so in the log and in systemd's `STATUS=`, as the running
    /// daemon does with its writes, rather than exiting; systemd's start timeout still bounds
    /// the wait. Returns `nil` when asked to stop meanwhile (noticed once SQLite's busy wait, up
    /// to 5 s, returns).
    private func openAndRecover(notifier: SystemdNotifier) async throws -> JobStore? {
        let backoff = RetryBackoff(base: .milliseconds(100), cap: .seconds(5))
        var failures = 0
        while true {
            do {
                let store = try await JobStore(path: configuration.databasePath, durability: configuration.durability)
                try await recover(store)
                return store
            } catch StoreError.busy {
                // Asked to stop during SQLite's busy wait: no retry, and nothing to report.
                if Task.isShuttingDownGracefully { return nil }
                failures += 1
                let delay = backoff.delay(afterFailure: failures)
                logger.error(
                    "the database is locked by another process; retrying",
                    metadata: ["db.path": "\(configuration.databasePath)", "retry.in": "\(DurationText.format(delay))"])
                notifier.notify("STATUS=waiting: the database is locked by another process")
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                } catch {
                    return nil
                }
            }
        }
    }

    /// Before taking work: stop any process group a dead daemon's jobs left behind, then
    /// put its running jobs back to pending (the attempt stays counted, no retry is used).
    /// Running it again after a failure part-way is harmless: a stopped group is gone, and the
    /// requeue is one transaction.
    ///
    /// Besides the recorded process group, a run's processes are found by the environment they
    /// inherit (this database, the job id, the attempt): all of them when the crash came between
    /// the spawn and the write of the record, and those that left the group (`setsid`) always.
    private func recover(_ store: JobStore) async throws {
        let interrupted = try await store.interruptedRuns()
        let grace = configuration.killGrace
        // One scan for every run: this database's processes by the run they carry the marks of.
        let marked =
            interrupted.isEmpty
            ? [:]
            : ProcessSupervisor.processGroups(
                whereEnvironment: "JOBQ_DB", is: configuration.databasePath,
                keyedBy: ["JOBQ_JOB_ID", "JOBQ_ATTEMPT"])
        await withDiscardingTaskGroup { group in
            for run in interrupted {
                // The recorded group, and every group whose processes carry the run's marks: those
                // of a run whose process was not recorded yet, and what left the group (setsid).
                var groups = marked[[String(run.id), String(run.attempt)]] ?? []
                if let recorded = run.process {
                    groups.removeAll { $0.processGroup == recorded.processGroup }
                    groups.append((recorded.processGroup, recorded.startTime))
                }
                for (processGroup, startTime) in groups {
                    group.addTask {
                        let result = await ProcessSupervisor.stopLeftoverGroup(
                            processGroup: processGroup, leaderStartTime: startTime, grace: grace)
                        logger.info(
                            "stopped what an interrupted job left running",
                            metadata: [
                                "job.id": "\(run.id)", "process.group": "\(processGroup)",
                                "process.recorded": "\(run.process != nil)", "result": "\(result)",
                            ])
                    }
                }
            }
        }
        let requeued = try await store.requeueInterrupted(now: .now())
        if requeued > 0 {
            logger.notice("recovered jobs a previous daemon left running", metadata: ["jobs": "\(requeued)"])
        }
    }

    /// The environment every job inherits: the daemon's, minus what belongs to the daemon's
    /// own relation with systemd. (The runner adds `JOBQ_DB`, by which recovery also tells this
    /// daemon's processes from other daemons' jobs.)
    private func jobEnvironment() -> [String: String] {
        var environment = environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
            environment[key] = nil
        }
        return environment
    }
}

/// The one service of `jobqd`'s service group, which turns SIGTERM and SIGINT into graceful shutdown.
private struct DaemonService: Service, CustomStringConvertible {
    let daemon: Daemon

    var description: String { "jobqd" }

    func run() async throws {
        try await daemon.serve()
    }
}

/// Sends `WATCHDOG=1` every half watchdog interval while the store still answers, so a
/// wedged daemon is restarted by systemd. Runs until cancelled, which happens once the
/// dispatcher has drained, so the manager hears from us during the drain too.
struct Watchdog {
    let notifier: SystemdNotifier
    let interval: Duration
    let store: JobStore

    func run() async {
        while !Task.isCancelled {
            if (try? await store.dataVersion()) != nil { notifier.notify("WATCHDOG=1") }
            try? await Task.sleep(for: interval)
        }
    }
}

/// The database `jobqd` served was deleted or replaced under it. `jobqd` exits non-zero, so that
/// systemd (`Restart=on-failure`) starts it again on the file the path names now.
public struct DatabaseLost: Error, CustomStringConvertible {
    public var path: String
    public var description: String { "the database \(path) was deleted or replaced while jobqd served it" }
}
