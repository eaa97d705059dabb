import Testing

@testable import JobqQueue

/// shutdown(immediate:) with CPython 3.13 semantics, including gh-137088.
@Suite struct AsyncQueueShutdownTests {
    @Test func anEmptyShutDownQueueRefusesPutsAndGets() async throws {
        let queue = AsyncQueue<String>(capacity: 0)
        queue.shutdown()
        #expect(queue.isShutDown)
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.put("data") }
        #expect(throws: AsyncQueueError.shutDown) { try queue.tryPut("data") }
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.get() }
        #expect(throws: AsyncQueueError.shutDown) { try queue.tryGet() }
    }

    @Test func getDrainsWhatIsLeftThenThrows() async throws {
        let queue = AsyncQueue<String>(capacity: 0)
        try queue.tryPut("data")
        queue.shutdown()
        #expect(try await queue.get() == "data")
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.get() }
    }

    @Test func immediateShutdownDiscardsWhatIsLeftAndMarksItDone() async throws {
        let queue = AsyncQueue<String>(capacity: 0)
        try queue.tryPut("data")
        queue.shutdown(immediate: true)
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.get() }
        #expect(queue.isEmpty && queue.unfinishedCount == 0)
    }

    @Test func everyMethodAfterAPlainShutdown() async throws {
        let queue = AsyncQueue<String>(capacity: 0)
        try await queue.put("L")
        try queue.tryPut("O")
        queue.shutdown()
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.put("E") }
        #expect(throws: AsyncQueueError.shutDown) { try queue.tryPut("W") }
        #expect(try await queue.get() == "L")
        try queue.taskDone()
        #expect(try queue.tryGet() == "O")
        try queue.taskDone()
        try await withTimeout("join after draining") { try await queue.join() }
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.get() }
        #expect(throws: AsyncQueueError.shutDown) { try queue.tryGet() }
    }

    @Test func everyMethodAfterAnImmediateShutdown() async throws {
        let queue = AsyncQueue<String>(capacity: 0)
        try await queue.put("L")
        try queue.tryPut("O")
        queue.shutdown(immediate: true)
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.put("E") }
        #expect(throws: AsyncQueueError.shutDown) { try queue.tryPut("W") }
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.get() }
        #expect(throws: AsyncQueueError.shutDown) { try queue.tryGet() }
        #expect(throws: AsyncQueueError.taskDoneTooManyTimes) { try queue.taskDone() }
        try await withTimeout("join after an immediate shutdown") { try await queue.join() }
    }

    @Test(arguments: [false, true])
    func shutdownWakesWaitingPutters(immediate: Bool) async throws {
        let queue = AsyncQueue<String>(capacity: 2)
        try await queue.put("E")
        try await queue.put("W")
        let putter = Task { try await queue.put("Y") }
        try await waitUntil("the putter to wait") { queue.waitingPutters == 1 }
        queue.shutdown(immediate: immediate)
        #expect(try await outcome(of: putter).failure as? AsyncQueueError == .shutDown)
        #expect(queue.waitingPutters == 0)
        #expect(queue.count == (immediate ? 0 : 2))
        #expect(queue.unfinishedCount == (immediate ? 0 : 2))
    }

    @Test(arguments: [false, true])
    func shutdownWakesWaitingGetters(immediate: Bool) async throws {
        let queue = AsyncQueue<String>(capacity: 1)
        try await queue.put("Y")
        #expect(try await queue.get() == "Y")
        let getter = Task { try await queue.get() }
        try await waitUntil("the getter to wait") { queue.waitingGetters == 1 }
        queue.shutdown(immediate: immediate)
        #expect(try await outcome(of: getter).failure as? AsyncQueueError == .shutDown)
        #expect(queue.waitingGetters == 0)
        #expect(queue.unfinishedCount == 1)  // "Y" was taken and not marked done.
    }

    @Test func getThenTaskDoneThenJoinAcrossAPlainShutdown() async throws {
        let queue = AsyncQueue<String>(capacity: 2)
        try await queue.put("Y")
        try await queue.put("D")
        let joiners = (0..<2).map { _ in Task { try await queue.join() } }
        try await waitUntil("two joiners to wait") { queue.waitingJoiners == 2 }
        queue.shutdown()
        #expect(queue.waitingJoiners == 2)  // A plain shutdown does not release joiners.
        var received: Set<String> = []
        for _ in 0..<2 {
            received.insert(try await queue.get())
            try queue.taskDone()
        }
        #expect(received == ["Y", "D"])
        for joiner in joiners { #expect(try await outcome(of: joiner).failure == nil) }
        #expect(queue.unfinishedCount == 0)
    }

    @Test func putsAfterAShutdownThrowWhileAJoinStillWaits() async throws {
        let queue = AsyncQueue<String>(capacity: 2)
        try await queue.put("Y")
        try await queue.put("D")
        let joiner = Task { try await queue.join() }
        try await waitUntil("the joiner to wait") { queue.waitingJoiners == 1 }
        queue.shutdown()
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.put("E") }
        #expect(throws: AsyncQueueError.shutDown) { try queue.tryPut("W") }
        #expect(queue.waitingJoiners == 1)
        joiner.cancel()
        #expect(isCancellation(try await outcome(of: joiner).failure))
    }

    @Test func immediateShutdownReleasesJoinersWhenNothingWasTaken() async throws {
        let queue = AsyncQueue<String>(capacity: 2)
        try await queue.put("Y")
        try await queue.put("D")
        let joiner = Task { try await queue.join() }
        try await waitUntil("the joiner to wait") { queue.waitingJoiners == 1 }
        queue.shutdown(immediate: true)
        #expect(try await outcome(of: joiner).failure == nil)
        #expect(queue.unfinishedCount == 0)
    }

    @Test func immediateShutdownStillWaitsForElementsTakenButNotDone() async throws {
        // CPython gh-137088: discarding the rest must not release join while a taken element is unfinished.
        let queue = AsyncQueue<Int>(capacity: 0)
        for element in 1...3 { try queue.tryPut(element) }
        #expect(try queue.tryGet() == 1)
        let joiner = Task { try await queue.join() }
        try await waitUntil("the joiner to wait") { queue.waitingJoiners == 1 }
        queue.shutdown(immediate: true)
        #expect(queue.isEmpty && queue.unfinishedCount == 1)
        #expect(queue.waitingJoiners == 1)
        try queue.taskDone()
        #expect(try await outcome(of: joiner).failure == nil)
    }

    @Test func anImmediateShutdownAfterAPlainOneStillDiscards() throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        try queue.tryPut(1)
        queue.shutdown()
        #expect(queue.count == 1)
        queue.shutdown(immediate: true)
        #expect(queue.isEmpty && queue.unfinishedCount == 0)
    }
}
