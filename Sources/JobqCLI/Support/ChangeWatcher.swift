import JobqStore

/// Waits for something to become true in the database without hammering it: between looks
/// it reads only `PRAGMA data_version` (which changes when another connection commits),
/// backing off from 2 ms to 100 ms, and re-runs the real query only after a change.
struct ChangeWatcher {
    /// The first pause between polls; short, so a `join` returns promptly after the last job.
    static let initialDelay: Duration = .milliseconds(2)
    /// The longest pause between polls, reached after about 6 idle polls.
    static let maximumDelay: Duration = .milliseconds(100)

    let store: JobStore
    /// When to give up; `nil` waits for ever.
    let deadline: ContinuousClock.Instant?

    init(store: JobStore, timeout: Duration?) {
        self.store = store
        self.deadline = timeout.map { ContinuousClock.now + $0 }
    }

    /// Calls `check` at once and again after every change until it returns a value, which is
    /// returned; `nil` means the deadline passed first. `tick` runs after every poll (to
    /// keep a progress line's rate and ETA fresh).
    func until<Value>(
        _ check: () async throws -> Value?,
        tick: () -> Void = {}
    ) async throws -> Value? {
        // Read the version first: a commit after this read changes it, so none is missed.
        var version = try await store.dataVersion()
        if let value = try await check() { return value }
        var delay = Self.initialDelay
        while true {
            var pause = delay
            if let deadline {
                let left = deadline - ContinuousClock.now
                if left <= .zero { return nil }
                pause = min(pause, left)
            }
            try await Task.sleep(for: pause)
            let current = try await store.dataVersion()
            if current != version {
                version = current
                delay = Self.initialDelay
                if let value = try await check() { return value }
            } else {
                delay = min(delay * 2, Self.maximumDelay)
            }
            tick()
        }
    }
}

/// Whether `join` and `wait` draw a progress line: `--progress` draws it whenever stderr
/// is a terminal, `--no-progress` never; by default it is drawn when both stdout and stderr
/// are terminals (an interactive shell). Never into a pipe or file.
enum ProgressChoice {
    static func enabled(_ flag: Bool?) -> Bool {
        guard OutputStream.standardError.isTerminal else { return false }
        return flag ?? OutputStream.standardOutput.isTerminal
    }
}
