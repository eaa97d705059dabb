import JobqCore
import JobqQueue
import JobqStore
import Logging
import Synchronization

/// One queue at work: a producer moves due jobs from the store into a bounded
/// `AsyncQueue` — claiming again once half of it is free, so memory is at most the capacity
/// whatever the backlog, at one claim per half buffer — and a pool of consumers, up to the
/// queue's concurrency, takes jobs from it and runs them. A consumer that waits longer than
/// the idle timeout ends; the pool grows again when work arrives. A worker whose queue has had
/// nothing to do (nothing due or delayed, no consumer, not paused) for an idle timeout ends too,
/// so a daemon that has seen many queues holds workers only for the busy ones; the dispatcher
/// starts a new one when work comes.
///
/// There is one producer per queue: all claims go through the store's single connection, so
/// more producers would only wait on each other.
final class QueueWorker: Sendable {
    struct Settings: Sendable, Equatable {
        var concurrency: Int
        var capacity: Int
        var idleTimeout: Duration
        var paused: Bool
    }

    let name: String
    let capacity: Int
    private let buffer: AsyncQueue<ClaimedJob>
    private let pool: QueuePool
    private let store: JobStore
    private let executor: JobExecutor
    private let clock: any DispatcherClock
    private let logger: Logger
    private let producerWake = WakeSignal()
    private let poolWake = WakeSignal()
    private let live: Mutex<(idleTimeout: Duration, paused: Bool, stopping: Bool)>
    /// Consumers of this generation (the pool counts every generation).
    private let ownConsumers = Mutex(0)

    /// Jobs claimed per store round trip, at most.
    private static let claimBatch = 256
    /// The free room in the buffer at which the producer claims again: half the capacity.
    private let refillRoom: Int
    /// Set while the producer waits for `refillRoom`; the consumer that makes it tells it.
    private let waitingForRoom = Atomic<Bool>(false)
    /// Set by `wake()`: jobs may have come that outrank those in memory. A wake-up for room
    /// alone leaves it, so a busy queue does not ask the store on every refill. Set at first, so
    /// that a new worker looks once, after its first claim, for delayed jobs that may outrank it.
    private let storeChanged = Atomic<Bool>(true)
    /// Called after jobs this worker held were given back to the store: they can be claimed
    /// again, by a newer worker of the same queue if this one is being replaced.
    private let onReleased: @Sendable () -> Void
    /// The jobs this worker claimed that have neither started nor gone back to the store, and
    /// whether its producer may still claim more. Once it may not and none is held, the worker
    /// signals `heldNothing`.
    private let holding = Mutex<(jobs: Int, claiming: Bool)>((0, true))
    private let heldNothing = WakeSignal()
    /// Signalled once the worker this one replaces holds nothing: this one claims only then, so
    /// that the jobs that one held keep their place ahead of the ones behind them. (Its signal,
    /// not the worker, so that generations do not keep each other alive.)
    private let predecessorHeldNothing: WakeSignal?

    init(
        name: String, settings: Settings, pool: QueuePool, store: JobStore, executor: JobExecutor,
        clock: any DispatcherClock, logger: Logger, replacing predecessor: QueueWorker? = nil,
        onReleased: @escaping @Sendable () -> Void
    ) {
        self.name = name
        self.capacity = settings.capacity
        self.buffer = AsyncQueue(capacity: settings.capacity)
        self.refillRoom = max(1, settings.capacity / 2)
        self.pool = pool
        self.store = store
        self.executor = executor
        self.clock = clock
        var logger = logger
        logger[metadataKey: "queue.name"] = "\(name)"
        self.logger = logger
        self.live = Mutex((settings.idleTimeout, settings.paused, false))
        self.onReleased = onReleased
        self.predecessorHeldNothing = predecessor?.heldNothing
        pool.limit = settings.concurrency
        // A consumer of an older generation ending frees a slot for this one's jobs.
        pool.onSlotFreed { [poolWake] in poolWake.signal() }
        if settings.paused, predecessor?.live.withLock({ $0.paused }) != true { self.logger.info("queue paused") }
    }

    /// Whether `settings` can be applied to this worker in place (`update`). Not when the
    /// capacity changed: the buffer's size is fixed. Nor when the concurrency or the idle timeout
    /// went down: consumers already waiting for work would notice only when they timed out, or
    /// took a job, one more than the new concurrency allows. Such changes replace the worker;
    /// its consumers end after their current job, and the jobs it held go back to the store for
    /// the new one.
    func appliesInPlace(_ settings: Settings) -> Bool {
        settings.capacity == capacity && settings.concurrency >= pool.limit
            && settings.idleTimeout >= live.withLock({ $0.idleTimeout })
    }

    /// Applies new settings live (those `appliesInPlace` accepts; others replace the worker),
    /// waking the worker if they changed.
    func update(_ settings: Settings) {
        let concurrency = pool.limit
        pool.limit = settings.concurrency
        let (wasPaused, idleTimeout) = live.withLock { live in
            defer {
                live.idleTimeout = settings.idleTimeout
                live.paused = settings.paused
            }
            return (live.paused, live.idleTimeout)
        }
        let limitsChanged = settings.concurrency != concurrency || settings.idleTimeout != idleTimeout
        if limitsChanged {
            logger.info(
                "queue settings changed",
                metadata: [
                    "queue.concurrency": "\(settings.concurrency)",
                    "queue.idle.timeout": "\(DurationText.format(settings.idleTimeout))",
                ])
        }
        if settings.paused != wasPaused {
            logger.info(settings.paused ? "queue paused" : "queue resumed")
        }
        if limitsChanged || settings.paused != wasPaused { wake() }
    }

    /// Something may have changed in the store: new, due or unblocked jobs.
    func wake() {
        storeChanged.store(true, ordering: .sequentiallyConsistent)
        producerWake.signal()
        poolWake.signal()
    }

    /// Stops intake for good: the producer stops claiming, jobs in memory that have not
    /// started go back to pending, and consumers end once their current job is done.
    func stopIntake() {
        live.withLock { $0.stopping = true }
        buffer.shutdown()
        wake()
    }

    /// The number of jobs waiting in memory.
    var buffered: Int { buffer.count }

    /// Runs the producer and the consumer pool until `stopIntake()` and the last consumer ends.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.produce() }
            group.addTask { await self.superviseConsumers() }
        }
        // Whatever is still buffered was never started.
        await releaseBuffered()
    }

    // MARK: Producer

    private func produce() async {
        // Soon: the predecessor is stopping, so it gives back (or starts) all it holds at once.
        await predecessorHeldNothing?.wait()
        defer { holdingChanged { $0.claiming = false } }
        var failures = 0
        // The last job put into the buffer, the last there in claim order (priority, then id): each
        // claim comes in that order, and a claim never follows jobs that go after it (see
        // `isOutranked`).
        var lastBuffered: (priority: Int, id: JobID)?
        // While jobs wait in memory: when the next delayed job comes due, which may outrank them.
        var delayedDue: Timestamp?
        while true {
            let (paused, stopping) = live.withLock { ($0.paused, $0.stopping) }
            // Cancelled: every wait below would return at once, so stop as if asked to.
            if stopping || Task.isCancelled {
                await releaseBuffered()
                return
            }
            if paused {
                await releaseBuffered()
                await producerWake.wait()
                continue
            }
            if let last = lastBuffered, storeChanged.exchange(false, ordering: .sequentiallyConsistent) {
                if await isOutranked(last) {
                    // A job that goes before these came (or came due, or was unblocked) after they
                    // were taken into memory: they go back, and the next claim takes them again
                    // behind it.
                    logger.debug(
                        "a job outranks those in memory; releasing them", metadata: ["jobs": "\(buffer.count)"])
                    await releaseBuffered()
                    lastBuffered = nil
                    delayedDue = nil
                    continue
                }
                delayedDue = try? await store.nextDelayedDueTime(queue: name, after: clock.timestamp())
            }
            let room = buffer.capacity - buffer.count
            if room < refillRoom {
                // Refill in batches: one claim per half buffer, not one per job taken out.
                waitingForRoom.store(true, ordering: .sequentiallyConsistent)
                if buffer.capacity - buffer.count < refillRoom {
                    if let due = delayedDue {
                        // Until the next delayed job comes due at the latest: then look again.
                        let wait = clock.timestamp().duration(to: due)
                        if await !producerWake.wait(timeout: max(.zero, wait), on: clock) {
                            delayedDue = nil
                            storeChanged.store(true, ordering: .sequentiallyConsistent)
                        }
                    } else {
                        await producerWake.wait()
                    }
                }
                waitingForRoom.store(false, ordering: .sequentiallyConsistent)
                continue
            }
            // The only producer: the buffer cannot fill up behind our back, so the jobs
            // claimed fit; a put fails only if the buffer was shut down meanwhile (stop).
            let limit = min(Self.claimBatch, room)
            let claimed: [ClaimedJob]
            do {
                claimed = try await store.claim(queue: name, limit: limit, now: clock.timestamp())
                failures = 0
            } catch {
                failures += 1
                let delay = RetryBackoff(base: .milliseconds(100), cap: .seconds(5)).delay(afterFailure: failures)
                logger.error(
                    "cannot claim jobs; retrying",
                    metadata: ["error": "\(error)", "retry.in": "\(DurationText.format(delay))"])
                _ = await producerWake.wait(timeout: delay, on: clock)
                continue
            }
            holdingChanged { $0.jobs += claimed.count }
            var handedOver = 0
            while handedOver < claimed.count, (try? buffer.tryPut(claimed[handedOver])) != nil {
                if handedOver == 0 { poolWake.signal() }
                lastBuffered = (claimed[handedOver].priority, claimed[handedOver].id)
                handedOver += 1
            }
            if handedOver < claimed.count {
                // Shut down while we held these: they go back, unstarted.
                await release(claimed[handedOver...].map(\.id))
                continue
            }
            if claimed.count < limit {
                // Caught up: sleep until woken, or until the next delayed job is due.
                let nextDue = try? await store.nextDueTime(queue: name)
                if let nextDue {
                    let wait = clock.timestamp().duration(to: nextDue)
                    let woken = wait > .zero ? await producerWake.wait(timeout: wait, on: clock) : false
                    // Not woken: a delayed job came due, which may outrank those in memory.
                    if !woken { storeChanged.store(true, ordering: .sequentiallyConsistent) }
                } else {
                    let idleTimeout = live.withLock { $0.idleTimeout }
                    if await !producerWake.wait(timeout: idleTimeout, on: clock), retireIfIdle() { return }
                }
            }
        }
    }

    /// Whether a job that could be claimed now goes before `last`, the last job put into the
    /// buffer (the last there in claim order): a higher priority, or the same and a lower id —
    /// so that order does not depend on how many jobs the daemon holds. False when the buffer is
    /// empty (nothing to overtake) or the store cannot say (the claim that follows will report
    /// the fault).
    private func isOutranked(_ last: (priority: Int, id: JobID)) async -> Bool {
        guard buffer.count > 0, let first = try? await store.firstClaimable(queue: name, now: clock.timestamp())
        else { return false }
        return first.priority > last.priority || (first.priority == last.priority && first.id < last.id)
    }

    /// Ends this worker if its queue is idle: nothing in memory, no consumer, not paused (the
    /// caller found nothing due or delayed). Returns whether it did.
    private func retireIfIdle() -> Bool {
        guard buffer.count == 0, ownConsumers.withLock({ $0 }) == 0 else { return false }
        let retired = live.withLock { live -> Bool in
            guard !live.paused, !live.stopping else { return false }
            live.stopping = true
            return true
        }
        guard retired else { return false }
        logger.debug("queue idle; its worker ends")
        buffer.shutdown()
        poolWake.signal()
        return true
    }

    // MARK: Consumers

    /// Starts consumers while jobs wait and the pool has room; a sliding window over a
    /// task group, so the pool is bounded and structured.
    private func superviseConsumers() async {
        await withDiscardingTaskGroup { group in
            while true {
                // Cancelled: no new consumers either, and the wait below must not return at once.
                if live.withLock({ $0.stopping }) || Task.isCancelled {
                    if ownConsumers.withLock({ $0 }) == 0 { return }
                    // Each consumer that ends signals; a cancelled one ends at its next wait.
                    await poolWake.waitIgnoringCancellation()
                    continue
                }
                while buffer.count > 0, pool.reserve() {
                    ownConsumers.withLock { $0 += 1 }
                    group.addTask {
                        await self.consume()
                        self.ownConsumers.withLock { $0 -= 1 }
                        self.poolWake.signal()
                    }
                }
                await poolWake.wait()
            }
        }
    }

    /// One consumer: takes jobs until it idles out, the queue shuts down, or the pool shrank.
    private func consume() async {
        logger.debug("consumer started", metadata: ["pool.active": "\(pool.active)"])
        while true {
            let idleTimeout = live.withLock { $0.idleTimeout }
            let job: ClaimedJob
            do {
                job = try await buffer.get(timeout: idleTimeout, clock: clock)
            } catch {
                pool.release()
                let idle = (error as? AsyncQueueError) == .timedOut
                logger.debug(
                    idle ? "consumer idle; ending" : "consumer ending", metadata: ["pool.active": "\(pool.active)"])
                return
            }
            if waitingForRoom.load(ordering: .sequentiallyConsistent),
                buffer.capacity - buffer.count >= refillRoom,
                waitingForRoom.exchange(false, ordering: .sequentiallyConsistent)
            {
                producerWake.signal()
            }
            let (paused, stopping) = live.withLock { ($0.paused, $0.stopping) }
            if paused || stopping {
                await release([job.id])
            } else {
                holdingChanged { $0.jobs -= 1 }
                await executor.execute(job)
            }
            try? buffer.taskDone()
            if pool.releaseIfOverLimit() {
                logger.debug("consumer ending: concurrency lowered", metadata: ["pool.active": "\(pool.active)"])
                return
            }
        }
    }

    // MARK: Releasing unstarted jobs

    /// Updates `holding`, and signals `heldNothing` once the producer claims no more and no job
    /// is held.
    private func holdingChanged(_ change: (inout (jobs: Int, claiming: Bool)) -> Void) {
        let nothing = holding.withLock { holding in
            change(&holding)
            return !holding.claiming && holding.jobs == 0
        }
        if nothing { heldNothing.signal() }
    }

    private func releaseBuffered() async {
        var ids: [JobID] = []
        while let job = try? buffer.tryGet() {
            ids.append(job.id)
            try? buffer.taskDone()
        }
        await release(ids)
    }

    private func release(_ ids: [JobID]) async {
        guard !ids.isEmpty else { return }
        // Given back, or stuck as claimed until the next daemon's recovery: held no more.
        defer { holdingChanged { $0.jobs -= ids.count } }
        // Must happen even during shutdown, or these jobs would wait for recovery at next start.
        do {
            try await store.release(ids)
            logger.debug("released unstarted jobs", metadata: ["jobs": "\(ids.count)"])
            onReleased()
        } catch {
            logger.error(
                "cannot release unstarted jobs; they return to pending at the next start",
                metadata: ["error": "\(error)", "jobs": "\(ids.count)"])
        }
    }
}
