import BenchmarkSupport
import JobqCore
import JobqDaemon
import JobqStore
import JobqTestSupport
import Synchronization

/// Enqueue → handler start through the library path: a client `JobStore` (synchronous=FULL,
/// ringing the doorbell, as `jobq add`) enqueues one job; the dispatcher (default settings)
/// wakes on the doorbell, claims it, marks it running and calls the handler, which notes the
/// time. Jobs are spaced out (the next is enqueued after the previous has finished, plus 2 ms)
/// so the dispatcher is idle at each.
enum LibraryLatency {
    static let queue = "latency"
    static let warmUp = 20

    /// Milliseconds per sample.
    struct Samples {
        /// From the enqueue call returning (the commit is durable) to the handler's start.
        var fromCommit: [Double] = []
        /// From before the enqueue call to the handler's start.
        var fromCall: [Double] = []
        /// The durable enqueue itself (the call).
        var enqueue: [Double] = []
    }

    static func run(samples count: Int) async throws -> Samples {
        try await withTemporaryDirectory { directory in
            let path = directory + "/latency.db"
            let store = try await JobStore(path: path, durability: .normal, ringsDoorbell: false)
            let client = try await JobStore(path: path)
            let starts = StartTimes()
            let dispatcher = Dispatcher(
                store: store,
                runner: HandlerRunner(handlers: [queue: { _ in starts.record(ContinuousClock.now) }]),
                configuration: DaemonConfiguration(databasePath: path),
                doorbell: try Doorbell.Listener(databasePath: path),
                notifier: SystemdNotifier(environment: [:]),
                logger: quietLogger)
            return try await withThrowingTaskGroup { group in
                group.addTask { try await dispatcher.run() }
                do {
                    let samples = try await measure(count, client: client, starts: starts)
                    dispatcher.stop()
                    try await group.waitForAll()
                    return samples
                } catch {
                    dispatcher.stop()
                    throw error
                }
            }
        }
    }

    private static func measure(_ count: Int, client: JobStore, starts: StartTimes) async throws -> Samples {
        var samples = Samples()
        let request = JobRequest(queue: queue, command: .argv(["noop"]), workingDirectory: "/")
        for index in 0..<(warmUp + count) {
            let beforeCall = ContinuousClock.now
            _ = try await client.enqueue([request])
            let committed = ContinuousClock.now
            guard let started = await starts.next(timeout: .seconds(30)) else {
                throw BenchmarkError("library latency: job \(index + 1) did not start within 30 s")
            }
            try await waitUntil("job \(index + 1) finished", timeout: .seconds(30), interval: .milliseconds(1)) {
                try await client.unfinishedCount(queue: queue) == 0
            }
            try await Task.sleep(for: .milliseconds(2))
            guard index >= warmUp else { continue }
            samples.fromCommit.append(milliseconds(started - committed))
            samples.fromCall.append(milliseconds(started - beforeCall))
            samples.enqueue.append(milliseconds(committed - beforeCall))
        }
        return samples
    }
}

/// The times handlers started, handed one by one to the waiting benchmark.
final class StartTimes: Sendable {
    private struct State {
        var times: [ContinuousClock.Instant] = []
        var waiter: CheckedContinuation<ContinuousClock.Instant?, Never>?
        /// The current wait timed out (perhaps before its waiter was registered).
        var expired = false
    }

    private let state = Mutex(State())

    func record(_ time: ContinuousClock.Instant) {
        let waiter = state.withLock { state -> CheckedContinuation<ContinuousClock.Instant?, Never>? in
            guard let waiter = state.waiter else {
                state.times.append(time)
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: time)
    }

    /// The next start time, or `nil` if none comes within `timeout`.
    func next(timeout: Duration) async -> ContinuousClock.Instant? {
        state.withLock { $0.expired = false }
        return await withTaskGroup(of: ContinuousClock.Instant?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let ready = self.state.withLock { state -> ContinuousClock.Instant?? in
                        guard state.times.isEmpty else { return .some(state.times.removeFirst()) }
                        guard !state.expired else { return .some(nil) }
                        state.waiter = continuation
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { self.giveUp() }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func giveUp() {
        let waiter = state.withLock { state in
            defer { state.waiter = nil }
            state.expired = true
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
