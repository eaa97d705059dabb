/// The delay before a retry: `min(cap, base × 2^(k−1))` scaled by a random factor in
/// [0.5, 1] ("equal jitter"), where k is the number of failed attempts so far.
public struct RetryBackoff: Sendable, Hashable {
    /// The default base delay (SPEC §3).
    public static let defaultBase: Duration = .seconds(1)
    /// The default cap (SPEC §3).
    public static let defaultCap: Duration = .seconds(3600)

    public var base: Duration
    public var cap: Duration

    public init(base: Duration = RetryBackoff.defaultBase, cap: Duration = RetryBackoff.defaultCap) {
        self.base = base
        self.cap = cap
    }

    /// The delay after failed attempt number `failures` (1 for the first failure).
    /// - Parameter jitter: a number in [0, 1]; 1 gives the full delay, 0 half of it.
    public func delay(afterFailure failures: Int, jitter: Double) -> Duration {
        let exponent = max(0, min(failures - 1, 62))
        let capMs = Double(cap.wholeMilliseconds)
        let unjittered = min(capMs, Double(base.wholeMilliseconds) * Double(1 << min(exponent, 52)))
        let factor = 0.5 + 0.5 * min(1, max(0, jitter))
        return .milliseconds(Int64((unjittered * factor).rounded()))
    }

    /// `delay(afterFailure:jitter:)` with a jitter drawn from the system generator.
    public func delay(afterFailure failures: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(afterFailure: failures, jitter: Double.random(in: 0...1, using: &generator))
    }
}
