import ArgumentParser
import JobqCore
import JobqStore

#if canImport(Glibc)
    import Glibc
#endif

/// Waits for something to become true in the database without hammering it: between looks
/// it reads only `PRAGMA data_version` (which changes when another connection commits),
/// backing off from 2 ms to 100 ms, and re-runs the real query only after a change. The
/// pauses block the calling thread: the CLI is single-threaded and has nothing else to do.
struct ChangeWatcher {
    /// The first pause between polls; short, so a `join` returns promptly after the last job.
    static let initialDelay: Duration = .milliseconds(2)
    /// The longest pause between polls, reached after about 6 idle polls.
    static let maximumDelay: Duration = .milliseconds(100)

    /// When to give up; `nil` waits for ever.
    let deadline: ContinuousClock.Instant?

    init(timeout: Duration?) {
        self.deadline = timeout.map { ContinuousClock.now + $0 }
    }

    /// Calls `check` at once and again after every change until it returns a value, which is
    /// returned; `nil` means the deadline passed first. `tick` runs after every poll (to
    /// keep a progress line's rate and ETA fresh).
    func until<Value>(
        in store: isolated JobStore,
        _ check: () throws -> Value?,
        tick: () -> Void = {}
    ) throws -> Value? {
        // Read the version first: a commit after this read changes it, so none is missed.
        var version = try store.dataVersion()
        if let value = try check() { return value }
        var delay = Self.initialDelay
        while true {
            var pause = delay
            if let deadline {
                let left = deadline - ContinuousClock.now
                if left <= .zero { return nil }
                pause = min(pause, left)
            }
            Self.sleep(for: pause)
            let current = try store.dataVersion()
            if current != version {
                version = current
                delay = Self.initialDelay
                if let value = try check() { return value }
            } else {
                delay = min(delay * 2, Self.maximumDelay)
            }
            tick()
        }
    }

    private static func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR {
            request = remaining
        }
    }
}

/// The options of the commands that wait (`join`, `wait`): how long, and whether to draw progress.
struct WaitOptions: ParsableArguments {
    @Option(help: "Give up after this long, with exit status 124. \(durationHelpSuffix)")
    var timeout: DurationArgument?

    @Flag(
        inversion: .prefixedNo,
        help: "Draw a progress bar (done/total, rate, ETA) on stderr; default: when run from a terminal.")
    var progress: Bool?

    /// The watcher that gives up after `--timeout`.
    func watcher() -> ChangeWatcher {
        ChangeWatcher(timeout: timeout?.duration)
    }

    /// The progress line, if one is drawn: `--progress` draws it whenever stderr is a terminal,
    /// `--no-progress` never; by default it is drawn when both stdout and stderr are terminals
    /// (an interactive shell). Never into a pipe or file.
    func progressDisplay() -> ProgressDisplay? {
        guard OutputStream.standardError.isTerminal, progress ?? OutputStream.standardOutput.isTerminal else {
            return nil
        }
        return ProgressDisplay(
            stream: .standardError, glyphs: .forLocale(environment: ProcessEnvironment.current))
    }

    /// `timed out after 10m`.
    var timedOut: String {
        "timed out after \(timeout.map { DurationText.format($0.duration) } ?? "the timeout")"
    }
}
