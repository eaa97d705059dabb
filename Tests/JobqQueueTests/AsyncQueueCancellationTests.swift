import JobqTestSupport
import Testing

@testable import JobqQueue

/// A cancelled put leaves the queue unchanged; a cancelled get never loses an element; get(timeout:)
/// gives up without losing one either.
@Suite struct AsyncQueueCancellationTests {
    @Test func aCancelledGetterLeavesTheElementForTheNextOne() async throws {
        let queue = AsyncQueue<String>(capacity: 0)
        let first = Task { try await queue.get() }
        try await waitUntil("the first getter to wait") { queue.waitingGetters == 1 }
        let second = Task { try await queue.get() }
        try await waitUntil("the second getter to wait") { queue.waitingGetters == 2 }
        first.cancel()
        #expect(isCancellation(try await outcome(of: first).failure))
        #expect(queue.waitingGetters == 1)
        try queue.tryPut("a")
        #expect(try await outcome(of: second).get() == "a")
    }

    @Test func aGetterCancelledAfterAHandOffKeepsItsElement() async throws {
        // asyncio's "drop one pending reader": whatever the race, 1 must come out before 2.
        let queue = AsyncQueue<Int>(capacity: 0)
        let reader = Task { try await queue.get() }
        try await waitUntil("the reader to wait") { queue.waitingGetters == 1 }
        try queue.tryPut(1)
        try queue.tryPut(2)
        reader.cancel()
        var received: [Int] = []
        if case .success(let element) = try await outcome(of: reader) { received.append(element) }
        while let element = try? queue.tryGet() { received.append(element) }
        #expect(received == [1, 2])
    }

    @Test func cancellingOneOfManyGettersDropsNothing() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        var readers: [Task<Int, any Error>] = []
        for index in 0..<3 {
            readers.append(Task { try await queue.get() })
            try await waitUntil("reader \(index) to wait") { queue.waitingGetters == index + 1 }
        }
        try queue.tryPut(1)
        try queue.tryPut(2)
        readers[0].cancel()
        queue.shutdown()  // Ends whichever reader is still waiting.
        var received: [Int] = []
        for reader in readers {
            if case .success(let element) = try await outcome(of: reader) { received.append(element) }
        }
        while let element = try? queue.tryGet() { received.append(element) }
        #expect(received.sorted() == [1, 2])
    }

    @Test func aCancelledPutterLeavesTheQueueUnchanged() async throws {
        let queue = AsyncQueue<Int>(capacity: 1)
        try queue.tryPut(1)
        let putter = Task { try await queue.put(2) }
        try await waitUntil("the putter to wait") { queue.waitingPutters == 1 }
        putter.cancel()
        #expect(isCancellation(try await outcome(of: putter).failure))
        #expect(queue.waitingPutters == 0)
        #expect(queue.count == 1 && queue.unfinishedCount == 1)
        #expect(try queue.tryGet() == 1)
        #expect(throws: AsyncQueueError.empty) { try queue.tryGet() }
    }

    @Test func cancellingOneWaitingPutterKeepsTheOthersInOrder() async throws {
        let queue = AsyncQueue<String>(capacity: 1)
        try await queue.put("a")
        let putB = Task { try await queue.put("b") }
        try await waitUntil("b to wait") { queue.waitingPutters == 1 }
        let putC = Task { try await queue.put("X") }
        try await waitUntil("X to wait") { queue.waitingPutters == 2 }
        putC.cancel()
        #expect(isCancellation(try await outcome(of: putC).failure))
        #expect(try queue.tryGet() == "a")
        #expect(try await outcome(of: putB).failure == nil)
        #expect(try queue.tryGet() == "b")
        #expect(queue.isEmpty && queue.waitingPutters == 0)
    }

    @Test func aPutterCancelledAfterBeingAdmittedIsNotDuplicated() async throws {
        // asyncio's "put cancel drop": 2 ends up in the queue exactly once, whatever the race.
        let queue = AsyncQueue<Int>(capacity: 1)
        try queue.tryPut(1)
        let writer = Task { try await queue.put(2) }
        try await waitUntil("the writer to wait") { queue.waitingPutters == 1 }
        #expect(try queue.tryGet() == 1)
        writer.cancel()
        if isCancellation(try await outcome(of: writer).failure) { try await queue.put(2) }
        #expect(try queue.tryGet() == 2)
        #expect(queue.isEmpty)
    }

    @Test func anAlreadyCancelledTaskThrowsOnlyWhereItWouldWait() async throws {
        let queue = AsyncQueue<Int>(capacity: 1)
        let results = try await withTimeout("the cancelled task") {
            try await Task {
                withUnsafeCurrentTask { $0?.cancel() }
                let emptyGet = await capture { try await queue.get() }.failure
                try queue.tryPut(1)
                let fullPut = await capture { try await queue.put(2) }.failure
                let join = await capture { try await queue.join() }.failure
                let available = try await queue.get()  // Does not wait, so it does not throw.
                return (emptyGet, fullPut, join, available)
            }.value
        }
        #expect(isCancellation(results.0) && isCancellation(results.1) && isCancellation(results.2))
        #expect(results.3 == 1)
        #expect(queue.waitingGetters == 0 && queue.waitingPutters == 0 && queue.waitingJoiners == 0)
        #expect(queue.isEmpty && queue.unfinishedCount == 1)
    }

    @Test func getWithTimeoutGivesUpAndLeavesNoWaiter() async throws {
        let queue = AsyncQueue<Int>(capacity: 5)
        await #expect(throws: AsyncQueueError.timedOut) {
            try await withTimeout("get(timeout:)") { try await queue.get(timeout: .milliseconds(20)) }
        }
        #expect(queue.waitingGetters == 0)
        try queue.tryPut(1)
        #expect(queue.count == 1)
    }

    @Test func getWithTimeoutFiresExactlyWhenTheClockReachesTheDeadline() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        let clock = ManualClock()
        let getter = Task { try await queue.get(timeout: .seconds(5), clock: clock) }
        try await waitUntil("the getter and its timer to wait") {
            queue.waitingGetters == 1 && clock.sleepers() == 1
        }
        clock.advance(by: .seconds(4))
        #expect(queue.waitingGetters == 1 && clock.sleepers() == 1)
        clock.advance(by: .seconds(1))
        #expect(try await outcome(of: getter).failure as? AsyncQueueError == .timedOut)
        #expect(queue.waitingGetters == 0)
    }

    @Test func aHandOffStopsTheTimer() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        let clock = ManualClock()
        let getter = Task { try await queue.get(timeout: .seconds(5), clock: clock) }
        try await waitUntil("the getter and its timer to wait") {
            queue.waitingGetters == 1 && clock.sleepers() == 1
        }
        try queue.tryPut(9)
        #expect(try await outcome(of: getter).get() == 9)
        #expect(clock.sleepers() == 0)  // get(timeout:) returns only once its timer is gone.
        clock.advance(by: .seconds(10))
        #expect(queue.unfinishedCount == 1)
    }

    @Test func getWithTimeoutReturnsAnElementPutWhileWaiting() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        let getter = Task { try await queue.get(timeout: .seconds(600)) }
        try await waitUntil("the getter to wait") { queue.waitingGetters == 1 }
        try queue.tryPut(7)
        #expect(try await outcome(of: getter).get() == 7)
    }

    @Test func getWithTimeoutTakesAnAvailableElementEvenWithZeroTimeout() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        try queue.tryPut(3)
        #expect(try await queue.get(timeout: .zero) == 3)
        await #expect(throws: AsyncQueueError.timedOut) { try await queue.get(timeout: .zero) }
    }

    @Test func getWithTimeoutCanBeCancelled() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        let getter = Task { try await queue.get(timeout: .seconds(600)) }
        try await waitUntil("the getter to wait") { queue.waitingGetters == 1 }
        getter.cancel()
        #expect(isCancellation(try await outcome(of: getter).failure))
        #expect(queue.waitingGetters == 0)
    }

    @Test func getWithTimeoutThrowsShutDownOnShutdown() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        let getter = Task { try await queue.get(timeout: .seconds(600)) }
        try await waitUntil("the getter to wait") { queue.waitingGetters == 1 }
        queue.shutdown()
        #expect(try await outcome(of: getter).failure as? AsyncQueueError == .shutDown)
    }

    @Test func aCancelledJoinLeavesTheCountAlone() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        try queue.tryPut(1)
        let joiner = Task { try await queue.join() }
        try await waitUntil("the joiner to wait") { queue.waitingJoiners == 1 }
        joiner.cancel()
        #expect(isCancellation(try await outcome(of: joiner).failure))
        #expect(queue.waitingJoiners == 0 && queue.unfinishedCount == 1 && queue.count == 1)
    }
}
