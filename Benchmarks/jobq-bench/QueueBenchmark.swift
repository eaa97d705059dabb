import AsyncAlgorithms
import BenchmarkSupport
import JobqQueue

/// Moves integers from producer tasks to consumer tasks through AsyncQueue, an unbounded AsyncStream
/// and AsyncChannel, side by side in one run, and prints items/s (median of the runs) and the ratio
/// to AsyncStream.
///
/// This target is a different module from JobqQueue on purpose: it measures the queue the way the
/// daemon uses it, where only what JobqQueue marks `@inlinable` can be specialised for `Int`.
enum QueueBenchmark {
    /// A producer/consumer shape to measure.
    struct Scenario {
        let producers: Int
        let consumers: Int
        let capacity: Int
        var name: String { "\(producers)p/\(consumers)c" }
    }

    /// One way of moving items: runs the scenario and returns how long `items` took end to end.
    struct Contender {
        let name: String
        let measure: @Sendable (Scenario, Int) async throws -> Duration
    }

    /// The consumers did not receive exactly the items the producers sent.
    struct LostItems: Error, CustomStringConvertible {
        let contender: String
        let sent: Int
        let received: Int
        var description: String { "\(contender): sent \(sent) items, consumers received \(received)" }
    }

    static let contenders = [
        Contender(name: "AsyncQueue", measure: measureAsyncQueue),
        Contender(name: "AsyncStream (unbounded)", measure: measureAsyncStream),
        Contender(name: "AsyncChannel", measure: measureAsyncChannel),
    ]

    static func run(_ options: BenchmarkOptions) async throws {
        let items = try options.positiveInt("items", default: 1_000_000)
        let runs = try options.positiveInt("runs", default: 5)
        // `--only NAME` measures just the queues whose name starts with NAME (for profiling).
        var contenders = Self.contenders
        if let only = options.string("only")?.lowercased() {
            contenders = contenders.filter { $0.name.lowercased().hasPrefix(only) }
            guard !contenders.isEmpty else {
                throw BenchmarkOptions.InvalidOption(option: "only", reason: "no queue is named '\(only)'")
            }
        }
        let scenarios = [
            Scenario(producers: 1, consumers: 4, capacity: 1024),
            Scenario(producers: 4, consumers: 4, capacity: 1024),
        ]
        print("queue: \(items) Int items per run, median of \(runs) runs;", terminator: " ")
        print("AsyncQueue capacity 1024, AsyncStream unbounded, AsyncChannel unbuffered\n")

        var rows: [[String]] = []
        for scenario in scenarios {
            // Warm up every contender once, then interleave them run by run so drift hits all alike.
            for contender in contenders { _ = try await contender.measure(scenario, max(1, items / 10)) }
            var rates = Array(repeating: [Double](), count: contenders.count)
            for _ in 0..<runs {
                for (index, contender) in contenders.enumerated() {
                    let elapsed = try await contender.measure(scenario, items)
                    rates[index].append(Stats.rate(count: items, in: elapsed))
                }
            }
            let medians = rates.map(Stats.median)
            let baseline = contenders.firstIndex { $0.name.hasPrefix("AsyncStream") }.map { medians[$0] }
            for (index, contender) in contenders.enumerated() {
                rows.append([
                    scenario.name, contender.name, Stats.millions(medians[index]),
                    Stats.millions(rates[index].min() ?? 0), Stats.millions(rates[index].max() ?? 0),
                    baseline.map { Stats.ratio(medians[index] / $0) } ?? "-",
                ])
            }
        }
        Stats.printTable(
            header: ["scenario", "queue", "median items/s", "min", "max", "vs AsyncStream"],
            rows: rows
        )
    }

    /// The half-open range of item numbers that producer `index` of `producers` sends.
    static func share(of items: Int, producer index: Int, of producers: Int) -> Range<Int> {
        (items * index / producers)..<(items * (index + 1) / producers)
    }

    static func measureAsyncQueue(_ scenario: Scenario, _ items: Int) async throws -> Duration {
        let queue = AsyncQueue<Int>(capacity: scenario.capacity)
        return try await measure("AsyncQueue", scenario, items) {
            for try await _ in queue { $0 += 1 }
        } produce: { range in
            for item in range { try await queue.put(item) }
        } finish: {
            queue.shutdown()
        }
    }

    static func measureAsyncStream(_ scenario: Scenario, _ items: Int) async throws -> Duration {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .unbounded)
        return try await measure("AsyncStream", scenario, items) {
            for await _ in stream { $0 += 1 }
        } produce: { range in
            for item in range { continuation.yield(item) }
        } finish: {
            continuation.finish()
        }
    }

    static func measureAsyncChannel(_ scenario: Scenario, _ items: Int) async throws -> Duration {
        let channel = AsyncChannel<Int>()
        return try await measure("AsyncChannel", scenario, items) {
            for await _ in channel { $0 += 1 }
        } produce: { range in
            for item in range { await channel.send(item) }
        } finish: {
            channel.finish()
        }
    }

    /// Runs the scenario's consumers (`consume` counts what it receives into its argument) and
    /// producers, calls `finish` once every producer is done, and checks nothing was lost.
    static func measure(
        _ name: String,
        _ scenario: Scenario,
        _ items: Int,
        consume: @escaping @Sendable (inout Int) async throws -> Void,
        produce: @escaping @Sendable (Range<Int>) async throws -> Void,
        finish: @escaping @Sendable () -> Void
    ) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let received = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<scenario.consumers {
                group.addTask {
                    var count = 0
                    try await consume(&count)
                    return count
                }
            }
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { producers in
                    for index in 0..<scenario.producers {
                        producers.addTask {
                            try await produce(share(of: items, producer: index, of: scenario.producers))
                        }
                    }
                    try await producers.waitForAll()
                }
                finish()
                return 0
            }
            return try await group.reduce(0, +)
        }
        let elapsed = clock.now - start
        guard received == items else { throw LostItems(contender: name, sent: items, received: received) }
        return elapsed
    }
}
