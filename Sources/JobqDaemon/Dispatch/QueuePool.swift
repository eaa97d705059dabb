import Synchronization

/// The consumer count of one queue, shared by every generation of its worker (a worker is
/// replaced when the queue's capacity changes), so `concurrency` holds across the change.
final class QueuePool: Sendable {
    private struct State {
        var active = 0
        var limit: Int
        var slotFreed: (@Sendable () -> Void)?
    }

    private let state: Mutex<State>

    init(limit: Int) {
        state = Mutex(State(limit: max(1, limit)))
    }

    /// The queue's concurrency now; applied live.
    var limit: Int {
        get { state.withLock { $0.limit } }
        set { state.withLock { $0.limit = max(1, newValue) } }
    }

    /// Consumers alive in every generation.
    var active: Int { state.withLock { $0.active } }

    /// Counts one more consumer if the limit allows it.
    func reserve() -> Bool {
        state.withLock { state in
            guard state.active < state.limit else { return false }
            state.active += 1
            return true
        }
    }

    /// A consumer ended: its slot is free, which the newest generation hears of (`onSlotFreed`),
    /// whichever generation the consumer belonged to.
    func release() {
        let slotFreed = state.withLock { state in
            state.active -= 1
            return state.slotFreed
        }
        slotFreed?()
    }

    /// What to call when a consumer of any generation ends; a new generation replaces the old
    /// one's, since its jobs are the ones waiting for a slot.
    func onSlotFreed(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.slotFreed = handler }
    }

    /// Ends one consumer's membership if the pool is over its limit (concurrency was
    /// lowered); the consumer must then end. Exactly enough consumers get `true`.
    func releaseIfOverLimit() -> Bool {
        state.withLock { state in
            guard state.active > state.limit else { return false }
            state.active -= 1
            return true
        }
    }
}
