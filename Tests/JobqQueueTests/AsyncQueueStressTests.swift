import JobqTestSupport
import Testing

@testable import JobqQueue

/// Many producers and consumers with randomly cancelled puts and gets and random get timeouts:
/// every element must be delivered exactly once, the queue must never exceed its capacity, and
/// join must return once everything is marked done.
@Suite struct AsyncQueueStressTests {
    static let items = 20_000
    static let producers = 4
    static let consumers = 4
    static let capacity = 8

    @Test(arguments: [1, 2, 3, 0xC0FFEE] as [UInt64])
    func everyElementIsDeliveredExactlyOnce(seed: UInt64) async throws {
        let queue = AsyncQueue<Int>(capacity: Self.capacity)
        // 0.4 s alone; alongside the whole suite on 2 cores it has needed 17 s.
        let received = try await withTimeout("stress run with seed \(seed)", .seconds(120)) {
            try await withThrowingTaskGroup(of: [Int].self) { group in
                for index in 0..<Self.consumers {
                    group.addTask {
                        var random = SeededRandom(seed: seed &* 7919 &+ UInt64(index))
                        return try await Self.consume(queue, random: &random)
                    }
                }
                group.addTask {
                    try await withThrowingTaskGroup(of: Void.self) { producers in
                        for index in 0..<Self.producers {
                            producers.addTask {
                                var random = SeededRandom(seed: seed &* 104_729 &+ UInt64(index))
                                let share =
                                    (Self.items * index / Self.producers)..<(Self.items * (index + 1) / Self.producers)
                                try await Self.produce(share, into: queue, random: &random)
                            }
                        }
                        try await producers.waitForAll()
                    }
                    try await queue.join()
                    queue.shutdown()
                    return []
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        #expect(received.count == Self.items, "seed \(seed)")
        #expect(received.sorted() == Array(0..<Self.items), "seed \(seed)")
        #expect(queue.unfinishedCount == 0 && queue.isEmpty)
        #expect(queue.waitingGetters == 0 && queue.waitingPutters == 0 && queue.waitingJoiners == 0)
    }

    /// The half-open range of elements that producer `index` puts.
    static func share(producer index: Int) -> Range<Int> {
        (items * index / producers)..<(items * (index + 1) / producers)
    }

    /// Puts every element of `share`, sometimes from a child task cancelled at a random moment, in
    /// which case a put that threw `CancellationError` is retried (it must have added nothing).
    static func produce(_ share: Range<Int>, into queue: AsyncQueue<Int>, random: inout SeededRandom) async throws {
        for element in share {
            while true {
                guard random.next() % 4 == 0 else {
                    try await queue.put(element)
                    break
                }
                let yields = random.next() % 3
                let result = await withTaskGroup(of: Result<Void, any Error>.self) { group in
                    group.addTask { await capture { try await queue.put(element) } }
                    for _ in 0..<yields { await Task.yield() }
                    group.cancelAll()
                    return await group.next() ?? .failure(CancellationError())
                }
                if case .failure(let error) = result {
                    guard isCancellation(error) else { throw error }
                    continue
                }
                break
            }
        }
    }

    /// Takes elements until the queue shuts down, marking each done; some gets are cancelled at a
    /// random moment and some have a tiny timeout.
    static func consume(_ queue: AsyncQueue<Int>, random: inout SeededRandom) async throws -> [Int] {
        var received: [Int] = []
        while true {
            let result: Result<Int, any Error>
            switch random.next() % 8 {
            case 0:
                let yields = random.next() % 3
                result = await withTaskGroup(of: Result<Int, any Error>.self) { group in
                    group.addTask { await capture { try await queue.get() } }
                    for _ in 0..<yields { await Task.yield() }
                    group.cancelAll()
                    return await group.next() ?? .failure(CancellationError())
                }
            case 1:
                let timeout = Duration.microseconds(Int64(random.next() % 200))
                result = await capture { try await queue.get(timeout: timeout) }
            default:
                result = await capture { try await queue.get() }
            }
            switch result {
            case .success(let element):
                #expect(queue.count <= capacity)
                received.append(element)
                try queue.taskDone()
            case .failure(AsyncQueueError.shutDown):
                return received
            case .failure(AsyncQueueError.timedOut):
                continue
            case .failure(let error):
                guard isCancellation(error) else { throw error }
            }
        }
    }
}
