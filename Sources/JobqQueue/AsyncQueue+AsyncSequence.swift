extension AsyncQueue: AsyncSequence {
    /// Takes elements from the queue with ``AsyncQueue/get()`` until it is shut down and drained.
    ///
    /// Iterating does not mark elements done: call ``AsyncQueue/taskDone()`` for each if anyone joins.
    /// Several tasks may iterate the same queue at once; each element goes to exactly one of them.
    public struct Iterator: AsyncIteratorProtocol {
        @usableFromInline let queue: AsyncQueue

        @inlinable
        init(queue: AsyncQueue) {
            self.queue = queue
        }

        /// The next element, or `nil` once the queue is shut down and empty.
        ///
        /// - Throws: `CancellationError` if the task is cancelled while waiting.
        @inlinable
        public mutating func next() async throws -> Element? {
            do {
                return try await queue.get()
            } catch AsyncQueueError.shutDown {
                return nil
            }
        }
    }

    /// An iterator that takes elements from this queue.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(queue: self)
    }
}
