import Synchronization

/// A one-shot gate: tasks wait at it until the test opens it, and pass at once afterwards.
/// How a test holds an in-process job handler (or any task) at a known point.
public final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    /// Lets every waiting task through, and every later one.
    public func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open. Not cancellable: a task at the gate goes on only when
    /// the test says so.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let pass = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if pass { continuation.resume() }
        }
    }
}
