import JobqCore
import Synchronization

/// A clock that moves only when a test calls ``advance(by:)``: timeouts, delays and backoff of
/// any length pass the moment the test advances past them, and never before. Tests wait on its
/// sleepers (``sleepers(forAtLeast:)``), not on real time. Its ``timestamp()`` starts at the real
/// time the clock was made, for code that also records wall-clock times.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol {
        /// Time passed since the clock was made.
        public var offset: Duration

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
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
    private let origin: Timestamp

    public init(origin: Timestamp = .now()) {
        self.origin = origin
    }

    public var now: Instant { state.withLock { $0.now } }

    public var minimumResolution: Duration { .zero }

    /// Now as a wall-clock time: the clock's origin moved by the time advanced since.
    public func timestamp() -> Timestamp {
        origin.advanced(by: now.offset)
    }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if deadline <= state.now { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
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
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// How many tasks sleep until at least `duration` from now (by default: all of them). A
    /// longer `duration` counts only the waits a test is about to cut short, not shorter
    /// periodic ones.
    public func sleepers(forAtLeast duration: Duration = .zero) -> Int {
        state.withLock { state in
            let horizon = state.now.advanced(by: duration)
            return state.sleepers.values.filter { $0.deadline >= horizon }.count
        }
    }
}
