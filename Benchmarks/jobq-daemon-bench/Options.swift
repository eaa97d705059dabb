#if canImport(Glibc)
    import Glibc
#endif

/// The parts of the benchmark, runnable alone with `--only`.
enum Section: String, CaseIterable {
    /// No-op jobs through the library path vs. a raw-SQLite pipeline.
    case throughput
    /// Enqueue → in-process handler start.
    case latency
    /// Enqueue → process start through a real `jobqd`.
    case jobqd
    /// `jobqd`'s resident memory idle and with a large backlog.
    case memory
}

/// A queue's pool: consumers at once and jobs buffered in memory.
struct PoolShape: CustomStringConvertible, Equatable {
    var concurrency: Int
    var capacity: Int

    var description: String { "concurrency \(concurrency), capacity \(capacity)" }

    /// `CONCURRENCYxCAPACITY`, e.g. `4x512`.
    init?(parsing text: Substring) {
        let parts = text.split(separator: "x")
        guard parts.count == 2, let concurrency = Int(parts[0]), let capacity = Int(parts[1]), concurrency > 0,
            capacity > 0
        else { return nil }
        self.init(concurrency: concurrency, capacity: capacity)
    }

    init(concurrency: Int, capacity: Int) {
        self.concurrency = concurrency
        self.capacity = capacity
    }
}

/// The command line.
struct Options {
    /// Jobs per throughput run.
    var jobs = 100_000
    /// Alternating rounds of the throughput contenders.
    var rounds = 3
    /// Latency samples (after a few warm-up ones), for each latency figure.
    var samples = 500
    /// The backlog for the memory figure.
    var pending = 1_000_000
    /// Pool shapes tried besides the daemon's defaults.
    var shapes = [PoolShape(concurrency: 4, capacity: 512), PoolShape(concurrency: 64, capacity: 1024)]
    /// The `jobqd` to measure; by default the one beside this executable.
    var jobqd: String?
    /// The job of the `jobqd` latency figure: a program that prints the wall-clock time it runs
    /// at in nanoseconds (`scripts/bench-jobqd` compiles a tiny static one, which starts faster).
    var probe = ["/bin/date", "+%s%N"]
    var sections = Set(Section.allCases)

    static let usage = """
        usage: jobq-daemon-bench [--only throughput|latency|jobqd|memory[,…]] [--jobs N] [--rounds N]
                                 [--samples N] [--pending N] [--shapes 4x512,64x1024] [--jobqd PATH]
                                 [--probe PATH] [--quick]
        """

    static func parse(_ arguments: ArraySlice<String>) -> Options {
        var options = Options()
        var rest = arguments
        func value() -> String {
            guard let next = rest.popFirst() else { fail("a value is missing") }
            return next
        }
        func number() -> Int {
            let text = value()
            guard let number = Int(text), number > 0 else { fail("not a positive number: \(text)") }
            return number
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--jobs": options.jobs = number()
            case "--rounds": options.rounds = number()
            case "--samples": options.samples = number()
            case "--pending": options.pending = number()
            case "--jobqd": options.jobqd = value()
            case "--probe": options.probe = [value()]
            case "--shapes":
                let text = value()
                let shapes = text.split(separator: ",").compactMap(PoolShape.init(parsing:))
                guard shapes.count == text.split(separator: ",").count else { fail("bad --shapes: \(text)") }
                options.shapes = shapes
            case "--only":
                let text = value()
                let sections = text.split(separator: ",").compactMap { Section(rawValue: String($0)) }
                guard sections.count == text.split(separator: ",").count else { fail("bad --only: \(text)") }
                options.sections = Set(sections)
            case "--quick":
                // A smoke test of the benchmark itself; the figures mean little.
                options.jobs = 5_000
                options.rounds = 1
                options.samples = 30
                options.pending = 20_000
            default: fail("unknown option \(argument)")
            }
        }
        return options
    }

    private static func fail(_ message: String) -> Never {
        print("jobq-daemon-bench: \(message)\n\(usage)")
        exit(64)
    }
}
