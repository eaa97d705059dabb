// jobq-bench: throughput benchmarks for jobq's subsystems, one suite per subsystem.
//
// Usage: jobq-bench SUITE [--OPTION VALUE]...   (run through `scripts/bench`, which builds it in release mode)

import BenchmarkSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A named group of measurements; `run` gets the options given after the suite's name.
struct BenchmarkSuite {
    let name: String
    let summary: String
    let run: (BenchmarkOptions) async throws -> Void
}

let suites = [
    BenchmarkSuite(
        name: "queue",
        summary: "AsyncQueue vs AsyncStream vs AsyncChannel, items/s (--items N, --runs N, --only NAME)",
        run: QueueBenchmark.run
    )
]

func printUsage(_ suites: [BenchmarkSuite]) {
    print("usage: jobq-bench SUITE [--OPTION VALUE]...\n\nsuites:")
    for suite in suites {
        print("  \(suite.name.padding(to: 10))\(suite.summary)")
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, !name.hasPrefix("-") else {
    printUsage(suites)
    exit(64)
}
guard let suite = suites.first(where: { $0.name == name }) else {
    print("jobq-bench: unknown suite '\(name)'")
    printUsage(suites)
    exit(64)
}
do {
    let options = try BenchmarkOptions(parsing: arguments.dropFirst())
    print(Machine.current.description)
    try await suite.run(options)
} catch {
    print("jobq-bench: \(error)")
    exit(1)
}
