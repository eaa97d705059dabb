/// Why an ``AsyncQueue`` operation did not complete.
///
/// Each case is a distinct outcome a caller may want to handle on its own: a producer backs off on
/// ``full(capacity:)``, a consumer ends on ``shutDown``, an idle consumer retires on ``timedOut``.
/// Cancellation is not among them: a cancelled wait throws the standard `CancellationError`.
public enum AsyncQueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `tryPut` found the queue holding `capacity` elements already.
    case full(capacity: Int)
    /// `tryGet` found no element to take.
    case empty
    /// The queue was shut down: no more puts, and no more gets once it is drained.
    case shutDown
    /// `taskDone()` was called more times than elements were put.
    case taskDoneTooManyTimes
    /// `get(timeout:)` waited the whole timeout without receiving an element.
    case timedOut

    /// A one-line explanation for logs and error messages.
    public var description: String {
        switch self {
        case .full(let capacity): "queue is full (capacity \(capacity))"
        case .empty: "queue is empty"
        case .shutDown: "queue is shut down"
        case .taskDoneTooManyTimes: "taskDone() called more times than elements were put"
        case .timedOut: "timed out waiting for an element"
        }
    }
}
