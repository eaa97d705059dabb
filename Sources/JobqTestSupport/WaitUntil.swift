/// A condition that did not become true in time.
public struct WaitTimeoutError: Error, CustomStringConvertible {
    /// What was being waited for.
    public var what: String
    /// How long it was waited for.
    public var timeout: Duration
    public var description: String { "timed out after \(timeout) waiting for \(what)" }
}

/// Polls `condition` until it returns true, checking every `interval`; throws
/// `WaitTimeoutError` if it is still false after `timeout`. For conditions that have no event
/// to wait on (a row in another process's database, a file appearing).
public func waitUntil(
    _ what: String,
    timeout: Duration,
    interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try await condition() { return }
        guard clock.now < deadline else { throw WaitTimeoutError(what: what, timeout: timeout) }
        try await Task.sleep(for: interval)
    }
}
