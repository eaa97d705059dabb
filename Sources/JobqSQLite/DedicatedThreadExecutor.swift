import CJobqSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A serial executor that runs everything it is given on one thread of its own, never on the
/// cooperative pool (which has only as many threads as cores and must not block). An actor
/// that owns a SQLite connection returns this executor from `unownedExecutor`, so every
/// SQLite call, however long it blocks on a lock or an fsync, blocks only this thread.
///
/// The thread lives until `shutdown()` is called and the work already queued has run.
///
/// A short-lived single-threaded program (the `jobq` command line) can instead make its own
/// thread the executor's (`callingThread()`): no thread is started, nothing is ever queued,
/// and the actor's methods are called synchronously through `assumeIsolated` on that thread.
public final class DedicatedThreadExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable: the mutable state (`pending`, `stopping`, `finished`) is only touched while
    // holding `mutex`; `thread` is written once in `init` before any work can be enqueued
    // (the enqueuer's later lock/unlock of `mutex` orders that write before every read).

    private enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var pending: [Work] = []
    private var stopping = false
    private var finished = false
    private var thread = pthread_t()
    /// Whether the thread is the caller's (`callingThread()`), with no loop to run queued work.
    private let adoptsCallingThread: Bool
    private let name: String

    /// Starts the thread.
    /// - Parameter name: what the thread is for: its name in `ps -L`, `top -H` and `perf`
    ///   (the kernel keeps the first 15 bytes), and in the message if it cannot be started.
    public convenience init(name: String) {
        self.init(name: name, adoptsCallingThread: false)
        // The thread owns a strong reference to the executor until its loop ends.
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<DedicatedThreadExecutor>.fromOpaque(raw!).takeRetainedValue().runLoop()
                return nil
            }, context)
        precondition(result == 0, "cannot start the thread '\(name)': pthread_create returned \(result)")
        pthread_detach(thread)
    }

    /// An executor whose thread is the calling one, for synchronous use only: isolation checks
    /// pass on this thread, and enqueuing work (an `await` into the actor) traps, because no
    /// loop runs on the thread to take it.
    public static func callingThread() -> DedicatedThreadExecutor {
        let executor = DedicatedThreadExecutor(name: "", adoptsCallingThread: true)
        executor.thread = pthread_self()
        return executor
    }

    private init(name: String, adoptsCallingThread: Bool) {
        self.name = name
        self.adoptsCallingThread = adoptsCallingThread
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Queues a job of a task isolated to this executor (called by the Swift runtime).
    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// Runs `work` on the thread after everything queued before it.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    /// Runs `body` on the thread and returns its result to the awaiting task; the way to create
    /// thread-confined state (such as a connection) on the thread that will use it.
    public func run<T>(_ body: @escaping @Sendable () throws -> sending T) async throws -> sending T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            execute {
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Lets the thread finish the work already queued (and any queued while it drains), then end.
    /// Giving it work after the thread has ended is a programming error and traps.
    public func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Whether the caller runs on this executor's thread.
    public var isCurrentThread: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Traps when called off the thread; lets `assumeIsolated` work for actors using this executor.
    public func checkIsolated() {
        precondition(isCurrentThread, "expected to run on the dedicated thread of this executor")
    }

    /// This executor, for an actor's `unownedExecutor`.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    private func submit(_ work: Work) {
        precondition(
            !adoptsCallingThread,
            "work was queued on an executor that runs only synchronous calls on its owner's thread")
        pthread_mutex_lock(mutex)
        // Work given after the thread ended would never run: a caller kept using what it shut down.
        precondition(!finished, "work was given to a DedicatedThreadExecutor after its thread ended")
        pending.append(work)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    private func runLoop() {
        jobq_name_current_thread(String(decoding: name.utf8.prefix(15), as: UTF8.self))
        while true {
            pthread_mutex_lock(mutex)
            while pending.isEmpty && !stopping {
                pthread_cond_wait(condition, mutex)
            }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            let done = batch.isEmpty && stopping
            if done { finished = true }
            pthread_mutex_unlock(mutex)
            if done { return }
            for work in batch {
                switch work {
                case .job(let job): job.runSynchronously(on: asUnownedSerialExecutor())
                case .closure(let body): body()
                }
            }
        }
    }
}
