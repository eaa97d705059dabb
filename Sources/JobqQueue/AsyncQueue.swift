import DequeModule
import Synchronization

/// A FIFO queue between async producers and consumers with the semantics of CPython 3.13's
/// `asyncio.Queue`: bounded `put`/`get` that suspend, `taskDone`/`join` to wait for processing, and
/// `shutdown(immediate:)`.
///
/// - `put` suspends while the queue is full and never drops an element; `get` suspends while it is
///   empty. Waiting getters and putters are served strictly in arrival order: an element put while
///   getters wait goes straight to the longest-waiting one, and a slot freed while putters wait goes
///   straight to the longest-waiting putter.
/// - Every element put counts as *unfinished* until a consumer calls ``taskDone()`` for it; ``join()``
///   returns once nothing is unfinished.
/// - Cancellation is safe: a cancelled `put` leaves the queue unchanged, and a cancelled `get` never
///   loses an element. An operation checks for cancellation only where it would wait, as asyncio does:
///   a `get` on a non-empty queue returns an element even in a cancelled task.
///
/// All state sits behind one `Mutex`; suspended tasks are resumed after the lock is released. The
/// hot paths are `@inlinable` so that callers in other modules get a specialised queue.
public final class AsyncQueue<Element: Sendable>: Sendable {
    /// The most elements the queue holds; zero or less means unbounded (asyncio's `maxsize`).
    public let capacity: Int

    /// `capacity` as a bound that needs no special case: `Int.max` when unbounded.
    @usableFromInline let limit: Int

    @usableFromInline let state: Mutex<State>

    /// Creates an empty, open queue holding at most `capacity` elements (unbounded when `capacity <= 0`).
    public init(capacity: Int) {
        self.capacity = capacity
        self.limit = capacity > 0 ? capacity : .max
        self.state = Mutex(State())
    }

    // MARK: - Size

    /// The number of elements waiting in the queue (asyncio's `qsize()`).
    @inlinable
    public var count: Int { state.withLock { $0.items.count } }

    /// Whether the queue holds no element.
    @inlinable
    public var isEmpty: Bool { state.withLock { $0.items.isEmpty } }

    /// Whether the queue holds `capacity` elements, so that `put` would wait; never true when unbounded.
    @inlinable
    public var isFull: Bool { state.withLock { $0.items.count >= limit } }

    /// Whether ``shutdown(immediate:)`` has been called.
    public var isShutDown: Bool { state.withLock { $0.isShutDown } }

    /// The number of elements put and not yet marked done with ``taskDone()``.
    public var unfinishedCount: Int { state.withLock { $0.unfinished } }

    // MARK: - Put

    /// Adds `element` at the back, suspending while the queue is full.
    ///
    /// - Throws: ``AsyncQueueError/shutDown`` if the queue is shut down, before or while waiting;
    ///   `CancellationError` if the task is cancelled while waiting, in which case nothing was added.
    @inlinable
    public func put(_ element: Element) async throws {
        switch state.withLock({ $0.put(element, limit: limit) }) {
        case .stored:
            return
        case .handedOff(let getter):
            getter.resume(returning: element)
        case .shutDown:
            throw AsyncQueueError.shutDown
        case .full(let id):
            try await waitToPut(element, id: id)
        }
    }

    /// Adds `element` at the back if there is room, without waiting (asyncio's `put_nowait`).
    ///
    /// - Throws: ``AsyncQueueError/shutDown`` if the queue is shut down, else
    ///   ``AsyncQueueError/full(capacity:)`` if it is full.
    @inlinable
    public func tryPut(_ element: Element) throws(AsyncQueueError) {
        switch state.withLock({ $0.put(element, limit: limit) }) {
        case .stored:
            return
        case .handedOff(let getter):
            getter.resume(returning: element)
        case .shutDown:
            throw .shutDown
        case .full:
            throw .full(capacity: capacity)
        }
    }

    /// The slow path of `put`: registers putter `id`, unless room appeared since the fast path looked.
    @inlinable
    func waitToPut(_ element: Element, id: UInt64) async throws {
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                // `.success(.full)` means the putter is registered and waits; anything else completes now.
                let registration = state.withLock { state -> Result<PutOutcome, CancellationError> in
                    let outcome = state.put(element, limit: limit)
                    guard case .full = outcome else { return .success(outcome) }
                    // Checked under the lock: a cancellation that arrives after this point finds the putter.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.putters.append(Putter(id: id, element: element, continuation: continuation))
                    return .success(outcome)
                }
                switch registration {
                case .success(.full):
                    return
                case .success(.stored):
                    continuation.resume()
                case .success(.handedOff(let getter)):
                    getter.resume(returning: element)
                    continuation.resume()
                case .success(.shutDown):
                    continuation.resume(throwing: AsyncQueueError.shutDown)
                case .failure(let cancellation):
                    continuation.resume(throwing: cancellation)
                }
            }
        } onCancel: {
            state.withLock { $0.removePutter(id: id) }?.resume(throwing: CancellationError())
        }
    }

    // MARK: - Get

    /// Removes and returns the front element, suspending while the queue is empty.
    ///
    /// - Throws: ``AsyncQueueError/shutDown`` once the queue is shut down and drained;
    ///   `CancellationError` if the task is cancelled while waiting, in which case no element was taken.
    ///   If the cancellation races with an element being handed over, exactly one wins: either the
    ///   element is returned, or it stays in the queue for the next getter.
    @inlinable
    public func get() async throws -> Element {
        switch state.withLock({ $0.take() }) {
        case .taken(let element, let admitted):
            admitted?.resume()
            return element
        case .shutDown:
            throw AsyncQueueError.shutDown
        case .empty(let id):
            return try await waitToGet(id: id, onRegistered: {})
        }
    }

    /// Removes and returns the front element if there is one, without waiting (asyncio's `get_nowait`).
    ///
    /// - Throws: ``AsyncQueueError/shutDown`` if the queue is empty and shut down, else
    ///   ``AsyncQueueError/empty`` if it is empty.
    @inlinable
    public func tryGet() throws(AsyncQueueError) -> Element {
        switch state.withLock({ $0.take() }) {
        case .taken(let element, let admitted):
            admitted?.resume()
            return element
        case .shutDown:
            throw .shutDown
        case .empty:
            throw .empty
        }
    }

    /// Like ``get()``, but gives up after `timeout` measured on the continuous clock.
    ///
    /// This is the building block of idle consumers. The timer resumes the waiting getter itself, so
    /// an element is never lost to the timeout: either the getter receives it or it stays queued.
    ///
    /// - Throws: ``AsyncQueueError/timedOut`` when the timeout passes first, and otherwise what
    ///   ``get()`` throws.
    @inlinable
    public func get(timeout: Duration) async throws -> Element {
        try await get(timeout: timeout, clock: ContinuousClock())
    }

    /// Like ``get(timeout:)`` with the timeout measured on `clock`, so tests can drive time by hand.
    @inlinable
    public func get<C: Clock>(timeout: C.Duration, clock: C) async throws -> Element {
        switch state.withLock({ $0.take() }) {
        case .taken(let element, let admitted):
            admitted?.resume()
            return element
        case .shutDown:
            throw AsyncQueueError.shutDown
        case .empty(let id):
            return try await waitToGet(id: id, timeout: timeout, clock: clock)
        }
    }

    /// The slow path of `get(timeout:clock:)`: waits as getter `id` with a timer beside it.
    @inlinable
    func waitToGet<C: Clock>(id: UInt64, timeout: C.Duration, clock: C) async throws -> Element {
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The timer starts only once the getter is registered, so it can never fire too early to
            // find it; after a hand-off it finds nothing and does nothing.
            let element = try await waitToGet(id: id) {
                group.addTask {
                    do {
                        try await clock.sleep(for: timeout)
                    } catch {
                        return  // Cancelled: the getter was served or gave up first.
                    }
                    self.state.withLock { $0.removeGetter(id: id) }?.resume(throwing: AsyncQueueError.timedOut)
                }
            }
            group.cancelAll()
            return element
        }
    }

    /// The slow path of `get`: registers getter `id`, unless an element appeared since the fast path
    /// looked, and calls `onRegistered` if it does wait.
    @inlinable
    func waitToGet(id: UInt64, onRegistered: () -> Void) async throws -> Element {
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Element, any Error>) in
                // `.success(.empty)` means the getter is registered and waits; anything else completes now.
                let registration = state.withLock { state -> Result<TakeOutcome, CancellationError> in
                    let outcome = state.take()
                    guard case .empty = outcome else { return .success(outcome) }
                    // Checked under the lock: a cancellation that arrives after this point finds the getter.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.getters.append(Getter(id: id, continuation: continuation))
                    return .success(outcome)
                }
                switch registration {
                case .success(.empty):
                    onRegistered()
                case .success(.taken(let element, let admitted)):
                    admitted?.resume()
                    continuation.resume(returning: element)
                case .success(.shutDown):
                    continuation.resume(throwing: AsyncQueueError.shutDown)
                case .failure(let cancellation):
                    continuation.resume(throwing: cancellation)
                }
            }
        } onCancel: {
            // Either the getter is still registered and leaves empty-handed, or it was already handed
            // an element and returns it: the element is never dropped.
            state.withLock { $0.removeGetter(id: id) }?.resume(throwing: CancellationError())
        }
    }

    // MARK: - Task tracking

    /// Marks one element taken from the queue as processed (asyncio's `task_done()`); when none is
    /// left unfinished, every ``join()`` returns.
    ///
    /// - Throws: ``AsyncQueueError/taskDoneTooManyTimes`` if nothing is unfinished.
    @inlinable
    public func taskDone() throws(AsyncQueueError) {
        let joiners = try state.withLock { (state) throws(AsyncQueueError) -> [Joiner] in
            guard state.unfinished > 0 else { throw .taskDoneTooManyTimes }
            state.unfinished -= 1
            return state.releasableJoiners()
        }
        for joiner in joiners { joiner.continuation.resume() }
    }

    /// Waits until every element put has been marked done with ``taskDone()``; returns at once if
    /// nothing is unfinished.
    ///
    /// Shutting down does not end the wait by itself: after `shutdown(immediate: true)` it still waits
    /// for elements already taken but not yet marked done (CPython gh-137088).
    ///
    /// - Throws: `CancellationError` if the task is cancelled while waiting; the counts are untouched.
    public func join() async throws {
        let id = state.withLock { state -> UInt64? in
            state.unfinished == 0 ? nil : state.makeWaiterID()
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                // `.success(false)` means the joiner is registered and waits.
                let registration = state.withLock { state -> Result<Bool, CancellationError> in
                    if state.unfinished == 0 { return .success(true) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.joiners.append(Joiner(id: id, continuation: continuation))
                    return .success(false)
                }
                switch registration {
                case .success(let finished):
                    if finished { continuation.resume() }
                case .failure(let cancellation):
                    continuation.resume(throwing: cancellation)
                }
            }
        } onCancel: {
            state.withLock { $0.removeJoiner(id: id) }?.resume(throwing: CancellationError())
        }
    }

    // MARK: - Shutdown

    /// Closes the queue: from now on `put` throws ``AsyncQueueError/shutDown``, and `get` returns what
    /// is left and then throws it. Waiting putters and getters are woken and throw.
    ///
    /// With `immediate: true` the elements left are discarded and counted as done, so `join` returns
    /// unless some element already taken is still unfinished. Calling it again is harmless; an
    /// immediate call after a plain one still discards.
    public func shutdown(immediate: Bool = false) {
        let (getters, putters, joiners) = state.withLock { state in
            state.isShutDown = true
            var joiners: [Joiner] = []
            if immediate {
                state.unfinished = Swift.max(0, state.unfinished - state.items.count)
                state.items.removeAll()
                joiners = state.releasableJoiners()
            }
            let getters = state.getters
            let putters = state.putters
            state.getters = []
            state.putters = []
            return (getters, putters, joiners)
        }
        for getter in getters { getter.continuation.resume(throwing: AsyncQueueError.shutDown) }
        for putter in putters { putter.continuation.resume(throwing: AsyncQueueError.shutDown) }
        for joiner in joiners { joiner.continuation.resume() }
    }
}
