import JobqSQLite
import Synchronization

/// A switchable `SQLiteFaults` seam that counts what it injected, so a test can wait until the
/// daemon has really run into the fault before clearing it.
final class FaultInjector: Sendable {
    private struct State {
        var code: Int32?
        /// Only steps whose SQL starts with this fail; `nil` for commits.
        var stepPrefix: String?
        var remaining = Int.max
        var injected = 0
    }

    private let state = Mutex(State())

    /// Makes every commit fail with `code` until `clear()`.
    func failCommits(with code: Int32) {
        state.withLock { $0 = State(code: code, stepPrefix: nil, injected: $0.injected) }
    }

    /// Makes steps whose SQL starts with `prefix` fail with `code`, `times` times.
    func failSteps(startingWith prefix: String, with code: Int32, times: Int = .max) {
        state.withLock { $0 = State(code: code, stepPrefix: prefix, remaining: times, injected: $0.injected) }
    }

    /// Lets every call through again.
    func clear() {
        state.withLock { $0 = State(injected: $0.injected) }
    }

    /// How many failures were injected so far.
    var injected: Int { state.withLock { $0.injected } }

    var seam: SQLiteFaults {
        SQLiteFaults { [self] point in
            self.state.withLock { state in
                guard let code = state.code, state.remaining > 0 else { return nil }
                switch (point, state.stepPrefix) {
                case (.commit, nil): break
                case (.step(let sql), let prefix?) where sql.hasPrefix(prefix): break
                default: return nil
                }
                state.remaining -= 1
                state.injected += 1
                return code
            }
        }
    }
}
