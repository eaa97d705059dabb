import JobqCore

/// The dispatcher's time: how long to wait (idle timeouts, delays and backoff coming due, job
/// timeouts, the drain timeout, the periodic polls) and what time it is in the database's terms
/// (claims, start and finish times). `jobqd` uses `ContinuousClock`; a test passes a clock it
/// moves by hand, so that waits of any length pass at once and in a known order.
public protocol DispatcherClock: Clock where Duration == Swift.Duration {
    /// Now, as the database stores times (wall-clock milliseconds).
    func timestamp() -> Timestamp
}

extension ContinuousClock: DispatcherClock {
    public func timestamp() -> Timestamp { .now() }
}
