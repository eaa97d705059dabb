import Synchronization

/// A coalescing wake-up: any number of `signal()` calls before a `wait()` make it return
/// once. It is how producers, the consumer pool and the dispatcher learn that something
/// may have changed, without polling.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Wakes every current waiter, or the next one to wait if none waits now.
    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            guard !state.waiters.isEmpty else {
                state.pending = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Returns after the next `signal()` (or at once if one came since the last wait), or
    /// when the task is cancelled. Returns whether a signal ended the wait; a cancelled wait
    /// leaves a pending signal for the next one.
    @discardableResult
    nonisolated(nonsending) func wait() async -> Bool {
        let id = newWaiterID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                enqueue(continuation, as: id, unlessCancelled: true)
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: false)
        }
    }

    /// `wait()` that cancellation does not end: for a cancelled task that must still wait for
    /// the signal (a stopping worker waiting for its consumers to end) rather than spin.
    func waitIgnoringCancellation() async {
        let id = newWaiterID()
        _ = await withCheckedContinuation { continuation in
            enqueue(continuation, as: id, unlessCancelled: false)
        }
    }

    private func newWaiterID() -> Int {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    /// Resumes `continuation` at once with `true` if a signal is pending (taking it), or with
    /// `false` if `unlessCancelled` and the task is cancelled; otherwise keeps it as waiter `id`.
    private func enqueue(_ continuation: CheckedContinuation<Bool, Never>, as id: Int, unlessCancelled: Bool) {
        let now: Bool? = state.withLock { state in
            if state.pending {
                state.pending = false
                return true
            }
            if unlessCancelled, Task.isCancelled { return false }
            state.waiters[id] = continuation
            return nil
        }
        if let now { continuation.resume(returning: now) }
    }

    /// `wait()`, but gives up after `timeout` on `clock`. Returns whether a signal (rather
    /// than the timeout) ended the wait.
    @discardableResult
    func wait(timeout: Duration, on clock: any DispatcherClock) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.wait() }
            group.addTask {
                try? await clock.sleep(for: timeout)
                return false
            }
            // Both may end before the cancellation lands: a signal taken counts.
            var signalled = false
            while let ended = await group.next() {
                group.cancelAll()
                signalled = signalled || ended
            }
            return signalled
        }
    }
}
