import Testing

@testable import JobqQueue

/// taskDone()/join(): asyncio's unfinished-task accounting.
@Suite struct AsyncQueueJoinTests {
    @Test func taskDoneWithNothingUnfinishedThrows() throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        #expect(throws: AsyncQueueError.taskDoneTooManyTimes) { try queue.taskDone() }
        try queue.tryPut(1)
        _ = try queue.tryGet()
        try queue.taskDone()
        #expect(throws: AsyncQueueError.taskDoneTooManyTimes) { try queue.taskDone() }
        #expect(queue.unfinishedCount == 0)
    }

    @Test func joinWithNothingPutReturnsAtOnce() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        try await withTimeout("join on an untouched queue") {
            try await queue.join()
            try await queue.join()
        }
    }

    @Test func joinReturnsWhenWorkersHaveMarkedEverythingDone() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        for element in 0..<100 { try queue.tryPut(element) }
        let sum = try await withTimeout("two workers and a join") {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        var sum = 0
                        for try await element in queue {
                            sum += element
                            try queue.taskDone()
                        }
                        return sum
                    }
                }
                try await queue.join()
                #expect(queue.unfinishedCount == 0)
                queue.shutdown()
                return try await group.reduce(0, +)
            }
        }
        #expect(sum == (0..<100).reduce(0, +))
    }

    @Test func joinWaitsForTheLastTaskDone() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        try queue.tryPut(1)
        try queue.tryPut(2)
        _ = try queue.tryGet()
        _ = try queue.tryGet()
        let joiner = Task { try await queue.join() }
        try await waitUntil("the joiner to wait") { queue.waitingJoiners == 1 }
        try queue.taskDone()
        #expect(queue.waitingJoiners == 1)
        try queue.taskDone()
        #expect(try await outcome(of: joiner).failure == nil)
        #expect(queue.waitingJoiners == 0)
    }

    @Test func everyJoinerIsReleased() async throws {
        let queue = AsyncQueue<Int>(capacity: 0)
        try queue.tryPut(1)
        let joiners = (0..<3).map { _ in Task { try await queue.join() } }
        try await waitUntil("three joiners to wait") { queue.waitingJoiners == 3 }
        _ = try queue.tryGet()
        try queue.taskDone()
        for joiner in joiners { #expect(try await outcome(of: joiner).failure == nil) }
    }

    @Test func elementsAdmittedFromWaitingPuttersCountAsUnfinished() async throws {
        let queue = AsyncQueue<Int>(capacity: 1)
        try queue.tryPut(1)
        let putter = Task { try await queue.put(2) }
        try await waitUntil("the putter to wait") { queue.waitingPutters == 1 }
        #expect(queue.unfinishedCount == 1)
        _ = try queue.tryGet()
        #expect(try await outcome(of: putter).failure == nil)
        #expect(queue.unfinishedCount == 2)
    }
}
