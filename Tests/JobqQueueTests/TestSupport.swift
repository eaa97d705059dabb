import Synchronization

@testable import JobqQueue

/// A test's wait that did not end in time: the test fails instead of hanging.
struct TimedOut: Error, CustomStringConvertible {
    let what: String
    let after: Duration
    var description: String { "timed out after \(after) waiting for \(what)" }
}

/// The default bound on every wait in these tests: far above what any of them needs, so it only
/// ever fires when something is broken.
let patience = Duration.seconds(20)

/// Runs `operation`, throwing ``TimedOut`` (and cancelling it) if it takes longer than `timeout`.
///
/// It returns at the deadline even if `operation` ignores cancellation (a broken queue might), so a
/// bug fails the test instead of hanging the run.
func withTimeout<T: Sendable>(
    _ what: String,
    _ timeout: Duration = patience,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let pending = Mutex<CheckedContinuation<T, any Error>?>(nil)
    let finish: @Sendable (Result<T, any Error>) -> Void = { result in
        pending.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }?.resume(with: result)
    }
    return try await withCheckedThrowingContinuation { continuation in
        pending.withLock { $0 = continuation }
        let work = Task { finish(await capture(operation)) }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            work.cancel()
            finish(.failure(TimedOut(what: what, after: timeout)))
        }
        Task {
            _ = await work.result
            timer.cancel()
        }
    }
}

/// How `task` ended, waiting at most `timeout` for it (and cancelling it if that passes).
func outcome<T: Sendable>(
    of task: Task<T, any Error>,
    _ what: String = "task",
    _ timeout: Duration = patience
) async throws -> Result<T, any Error> {
    try await withTimeout(what, timeout) {
        await withTaskCancellationHandler {
            await task.result
        } onCancel: {
            task.cancel()
        }
    }
}

/// Waits (yielding, never sleeping) until `condition` holds; throws ``TimedOut`` after `timeout`.
func waitUntil(_ what: String, _ timeout: Duration = patience, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: what, after: timeout) }
        await Task.yield()
    }
}

extension Result {
    /// The error, if this is a failure.
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}

/// How an async throwing operation ended.
func capture<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

/// Whether `error` is the standard cancellation error.
func isCancellation(_ error: (any Error)?) -> Bool { error is CancellationError }

extension AsyncQueue {
    /// Test probes: how many tasks are suspended in each operation.
    var waitingGetters: Int { state.withLock { $0.getters.count } }
    var waitingPutters: Int { state.withLock { $0.putters.count } }
    var waitingJoiners: Int { state.withLock { $0.joiners.count } }
}
