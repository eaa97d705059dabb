import DequeModule

extension AsyncQueue {
    /// A getter suspended in `get` until an element arrives, the queue shuts down, or it is cancelled.
    @usableFromInline
    struct Getter {
        @usableFromInline let id: UInt64
        @usableFromInline let continuation: UnsafeContinuation<Element, any Error>

        @inlinable
        init(id: UInt64, continuation: UnsafeContinuation<Element, any Error>) {
            self.id = id
            self.continuation = continuation
        }
    }

    /// A putter suspended in `put` with the element it will add as soon as there is room.
    ///
    /// The element stays here (not in the queue) while it waits, so cancelling the putter removes it
    /// and leaves the queue exactly as it was.
    @usableFromInline
    struct Putter {
        @usableFromInline let id: UInt64
        @usableFromInline let element: Element
        @usableFromInline let continuation: UnsafeContinuation<Void, any Error>

        @inlinable
        init(id: UInt64, element: Element, continuation: UnsafeContinuation<Void, any Error>) {
            self.id = id
            self.element = element
            self.continuation = continuation
        }
    }

    /// A task suspended in `join` until the unfinished count drops to zero.
    @usableFromInline
    struct Joiner {
        @usableFromInline let id: UInt64
        @usableFromInline let continuation: UnsafeContinuation<Void, any Error>

        @inlinable
        init(id: UInt64, continuation: UnsafeContinuation<Void, any Error>) {
            self.id = id
            self.continuation = continuation
        }
    }

    /// What `State.put` did with an element.
    @usableFromInline
    enum PutOutcome {
        /// Appended to the buffer.
        case stored
        /// Given straight to the longest-waiting getter, which the caller must resume with it.
        case handedOff(to: UnsafeContinuation<Element, any Error>)
        /// Not taken: the buffer holds `capacity` elements. `waiterID` identifies the putter if the
        /// caller goes on to wait (allocated here to save the slow path a second trip through the lock).
        case full(waiterID: UInt64)
        /// Not taken: the queue is shut down.
        case shutDown
    }

    /// What `State.take` found.
    @usableFromInline
    enum TakeOutcome {
        /// The front element; `admitted` is a waiting putter whose element took the freed slot and
        /// which the caller must resume.
        case taken(Element, admitted: UnsafeContinuation<Void, any Error>?)
        /// Nothing to take yet; `waiterID` identifies the getter if the caller goes on to wait.
        case empty(waiterID: UInt64)
        /// Nothing to take, ever again.
        case shutDown
    }

    /// Everything the queue's lock guards.
    ///
    /// Invariants: waiting getters imply an empty buffer; waiting putters imply a full buffer; after
    /// shutdown no getter or putter waits.
    @usableFromInline
    struct State {
        @usableFromInline var items: Deque<Element> = []
        @usableFromInline var getters: Deque<Getter> = []
        @usableFromInline var putters: Deque<Putter> = []
        @usableFromInline var joiners: [Joiner] = []
        /// Elements put and not yet marked done with `taskDone()` (asyncio's `_unfinished_tasks`).
        @usableFromInline var unfinished = 0
        @usableFromInline var isShutDown = false
        @usableFromInline var nextWaiterID: UInt64 = 0

        @inlinable
        init() {}

        /// Adds `element` (to the longest-waiting getter, else to the buffer) if the queue is open
        /// and not full, counting it as unfinished.
        @inlinable
        mutating func put(_ element: Element, limit: Int) -> PutOutcome {
            if isShutDown { return .shutDown }
            if items.count >= limit { return .full(waiterID: makeWaiterID()) }
            unfinished += 1
            if let getter = getters.popFirst() { return .handedOff(to: getter.continuation) }
            items.append(element)
            return .stored
        }

        /// Removes the front element, letting the longest-waiting putter's element into the freed slot.
        @inlinable
        mutating func take() -> TakeOutcome {
            guard let element = items.popFirst() else {
                return isShutDown ? .shutDown : .empty(waiterID: makeWaiterID())
            }
            guard let putter = putters.popFirst() else { return .taken(element, admitted: nil) }
            items.append(putter.element)
            unfinished += 1
            return .taken(element, admitted: putter.continuation)
        }

        /// A fresh identifier for a waiter, so that cancellation removes exactly that waiter.
        @inlinable
        mutating func makeWaiterID() -> UInt64 {
            nextWaiterID &+= 1
            return nextWaiterID
        }

        @usableFromInline
        mutating func removeGetter(id: UInt64) -> UnsafeContinuation<Element, any Error>? {
            guard let index = getters.firstIndex(where: { $0.id == id }) else { return nil }
            return getters.remove(at: index).continuation
        }

        @usableFromInline
        mutating func removePutter(id: UInt64) -> UnsafeContinuation<Void, any Error>? {
            guard let index = putters.firstIndex(where: { $0.id == id }) else { return nil }
            return putters.remove(at: index).continuation
        }

        @usableFromInline
        mutating func removeJoiner(id: UInt64) -> UnsafeContinuation<Void, any Error>? {
            guard let index = joiners.firstIndex(where: { $0.id == id }) else { return nil }
            return joiners.remove(at: index).continuation
        }

        /// Returns the joiners to resume once nothing is unfinished, leaving none registered.
        @inlinable
        mutating func releasableJoiners() -> [Joiner] {
            guard unfinished == 0, !joiners.isEmpty else { return [] }
            defer { joiners = [] }
            return joiners
        }
    }
}
