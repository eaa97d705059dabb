import JobqCore
import JobqDaemon
import Synchronization

/// A `DispatcherClock` that moves only when the test says so: idle timeouts, delays, backoff,
/// job timeouts and the drain timeout of any length pass the moment the test advances past
/// them, and never before. Its timestamps start at the real time it was made.
final class ManualClock: DispatcherClock, Sendable {
    struct Instant: InstantProtocol {
        /// Time passed since the clock was made.
        var offset: Duration

        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())
    private let start: Timestamp

    init(start: Timestamp = .now()) {
        self.start = start
    }

    var now: Instant { state.withLock { $0.now } }

    var minimumResolution: Duration { .nanoseconds(1) }

    func timestamp() -> Timestamp {
        start.advanced(by: now.offset)
    }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward by `duration` and wakes every sleeper whose deadline has come,
    /// earliest deadline first.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// How many tasks sleep until at least `duration` from now: the waits a test is about to
    /// cut short (short periodic ones, such as the safety-net poll, are not counted).
    func sleepers(forAtLeast duration: Duration) -> Int {
        state.withLock { state in
            let horizon = state.now.advanced(by: duration)
            return state.sleepers.values.filter { $0.deadline >= horizon }.count
        }
    }
}
