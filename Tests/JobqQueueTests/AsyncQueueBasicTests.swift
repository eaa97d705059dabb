import Testing

@testable import JobqQueue

/// Size, ordering, capacity and the blocking and non-blocking put/get of asyncio.Queue.
@Suite struct AsyncQueueBasicTests {
    @Test func emptyAndFullFollowTheContents() throws {
        let unbounded = AsyncQueue<Int>(capacity: 0)
        #expect(unbounded.isEmpty && !unbounded.isFull)
        try unbounded.tryPut(1)
        #expect(!unbounded.isEmpty && !unbounded.isFull && unbounded.count == 1)
        #expect(try unbounded.tryGet() == 1)
        #expect(unbounded.isEmpty)

        let single = AsyncQueue<Int>(capacity: 1)
        #expect(!single.isFull)
        try single.tryPut(1)
        #expect(single.isFull && single.count == 1 && single.capacity == 1)
    }

    @Test func elementsComeOutInTheOrderTheyWentIn() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        for element in [1, 3, 2] { try await queue.put(element) }
        var received: [Int] = []
        for _ in 0..<3 { received.append(try await queue.get()) }
        #expect(received == [1, 3, 2])
    }

    @Test(arguments: [0, -1, -100])
    func zeroOrNegativeCapacityIsUnbounded(capacity: Int) throws {
        let queue = AsyncQueue<Int>(capacity: capacity)
        for element in 0..<10_000 { try queue.tryPut(element) }
        #expect(queue.count == 10_000 && !queue.isFull && queue.capacity == capacity)
    }

    @Test func putWaitsWhileFullAndNeverExceedsCapacity() async throws {
        let queue = AsyncQueue<Int>(capacity: 2)
        let putter = Task {
            for element in 0..<3 { try await queue.put(element) }
        }
        try await waitUntil("the third put to wait") { queue.waitingPutters == 1 }
        #expect(queue.count == 2)
        #expect(try queue.tryGet() == 0)
        // The freed slot went straight to the waiting putter.
        #expect(try await outcome(of: putter).failure == nil)
        #expect(queue.count == 2)
        #expect(try queue.tryGet() == 1)
        #expect(try queue.tryGet() == 2)
    }

    @Test func tryGetOnAnEmptyQueueThrowsEmpty() {
        let queue = AsyncQueue<Int>(capacity: 0)
        #expect(throws: AsyncQueueError.empty) { try queue.tryGet() }
    }

    @Test func tryPutOnAFullQueueThrowsFull() throws {
        let queue = AsyncQueue<Int>(capacity: 1)
        try queue.tryPut(1)
        #expect(throws: AsyncQueueError.full(capacity: 1)) { try queue.tryPut(2) }
        #expect(queue.count == 1)
    }

    @Test func getWaitsUntilSomethingIsPut() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        let getter = Task { try await queue.get() }
        try await waitUntil("the getter to wait") { queue.waitingGetters == 1 }
        try queue.tryPut(1)
        #expect(try await outcome(of: getter).get() == 1)
        #expect(queue.isEmpty)
    }

    @Test func putWaitsUntilSomethingIsTaken() async throws {
        let queue = AsyncQueue<Int>(capacity: 1)
        try await queue.put(1)
        let putter = Task { try await queue.put(2) }
        try await waitUntil("the putter to wait") { queue.waitingPutters == 1 }
        #expect(try queue.tryGet() == 1)
        #expect(try await outcome(of: putter).failure == nil)
        #expect(try queue.tryGet() == 2)
    }

    @Test func getWithWaitingPuttersTakesInPutOrder() async throws {
        let queue = AsyncQueue<String>(capacity: 1)
        let putA = Task { try await queue.put("a") }
        try await waitUntil("a to be put") { queue.count == 1 }
        let putB = Task { try await queue.put("b") }
        try await waitUntil("b to wait") { queue.waitingPutters == 1 }
        #expect(try await queue.get() == "a")
        #expect(try await queue.get() == "b")
        #expect(try await outcome(of: putA).failure == nil)
        #expect(try await outcome(of: putB).failure == nil)
    }

    @Test func putWithAWaitingGetterHandsTheElementOver() async throws {
        let queue = AsyncQueue<String>(capacity: 0)
        let getter = Task { try await queue.get() }
        try await waitUntil("the getter to wait") { queue.waitingGetters == 1 }
        try await queue.put("a")
        #expect(try await outcome(of: getter).get() == "a")
        #expect(queue.isEmpty && queue.unfinishedCount == 1)
    }

    @Test func producerAndConsumerThroughACapacityOfOne() async throws {
        let queue = AsyncQueue<Int>(capacity: 1)
        let received = try await withTimeout("five items through the queue") {
            try await withThrowingTaskGroup(of: [Int].self) { group in
                group.addTask {
                    for element in 0..<5 { try await queue.put(element) }
                    return []
                }
                group.addTask {
                    var received: [Int] = []
                    for _ in 0..<5 { received.append(try await queue.get()) }
                    return received
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        #expect(received == [0, 1, 2, 3, 4])
    }

    @Test func gettersAreServedInArrivalOrder() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        var getters: [Task<Int, any Error>] = []
        for index in 0..<5 {
            getters.append(Task { try await queue.get() })
            try await waitUntil("getter \(index) to wait") { queue.waitingGetters == index + 1 }
        }
        for element in 0..<5 { try queue.tryPut(element) }
        for (index, getter) in getters.enumerated() {
            #expect(try await outcome(of: getter).get() == index)
        }
    }

    @Test func puttersAreServedInArrivalOrder() async throws {
        let queue = AsyncQueue<Int>(capacity: 1)
        try queue.tryPut(-1)
        var putters: [Task<Void, any Error>] = []
        for index in 0..<5 {
            putters.append(Task { try await queue.put(index) })
            try await waitUntil("putter \(index) to wait") { queue.waitingPutters == index + 1 }
        }
        var received: [Int] = []
        for _ in 0..<6 { received.append(try await queue.get()) }
        #expect(received == [-1, 0, 1, 2, 3, 4])
        for putter in putters { #expect(try await outcome(of: putter).failure == nil) }
    }

    @Test func iterationEndsAtShutdownOnceDrained() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        for element in 1...3 { try queue.tryPut(element) }
        queue.shutdown()
        var received: [Int] = []
        for try await element in queue { received.append(element) }
        #expect(received == [1, 2, 3])
    }

    @Test func aWaitingIteratorEndsWhenTheQueueShutsDown() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        let consumer = Task {
            var received: [Int] = []
            for try await element in queue { received.append(element) }
            return received
        }
        try await waitUntil("the iterator to wait") { queue.waitingGetters == 1 }
        try queue.tryPut(7)
        try await waitUntil("the iterator to wait again") { queue.waitingGetters == 1 }
        queue.shutdown()
        #expect(try await outcome(of: consumer).get() == [7])
    }
}
