import BenchmarkSupport
import JobqDaemon
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A benchmark that could not measure what it meant to (a job lost, a daemon that died).
struct BenchmarkError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The dispatcher's log at warning and above, on stderr: one info line per job start and
/// finish is not what these benchmarks measure.
let quietLogger = Logger(label: "jobq-daemon-bench") { label in
    JournalLogHandler(label: label, level: .warning, environment: [:])
}

/// A progress line on stderr, so stdout keeps only the results.
func progress(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}

/// `CLOCK_REALTIME` in nanoseconds: the clock that other processes' timestamps share.
func realtimeNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// Milliseconds in `duration`, as a `Double`.
func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) * 1e-15
}
