import JobqCore
import JobqStore

/// Runs jobs in-process with Swift closures registered per queue: the embedding use of
/// jobq (and what the library benchmarks and many tests use). A handler that returns
/// succeeds; one that throws fails the attempt with the error's description. Stopping a
/// run cancels the handler's task.
public struct HandlerRunner: JobRunner {
    /// Runs one job of a queue.
    public typealias Handler = @Sendable (ClaimedJob) async throws -> Void

    private let handlers: [String: Handler]
    private let fallback: Handler?

    /// - Parameters:
    ///   - handlers: the handler of each queue by name.
    ///   - fallback: the handler for queues not named; without one, their jobs fail.
    public init(handlers: [String: Handler], fallback: Handler? = nil) {
        self.handlers = handlers
        self.fallback = fallback
    }

    public func run(_ job: ClaimedJob, control: RunControl, observer: RunObserver) async -> RunReport {
        guard let handler = handlers[job.queue] ?? fallback else {
            return RunReport(
                outcome: .failed(exitCode: nil, signal: nil, reason: "no handler for queue '\(job.queue)'"))
        }
        // The handler runs in a task of its own, bound to this one (awaited at once, cancelled
        // with it), so that a stop request can cancel it.
        let handling = Task {
            do {
                try await handler(job)
                return JobOutcome.succeeded
            } catch {
                return JobOutcome.failed(exitCode: nil, signal: nil, reason: "\(error)")
            }
        }
        control.onStop { _ in handling.cancel() }
        let outcome = await withTaskCancellationHandler {
            await handling.value
        } onCancel: {
            handling.cancel()
        }
        return RunReport(outcome: control.stopReason?.outcome() ?? outcome)
    }
}
