// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "jobq",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "jobq", targets: ["jobq"]),
        .executable(name: "jobqd", targets: ["jobqd"]),
        // The embeddable daemon; its API speaks JobqStore's and JobqCore's types (JobStore, JobRequest).
        .library(name: "JobqDaemon", targets: ["JobqDaemon", "JobqStore", "JobqCore"]),
        .library(name: "JobqQueue", targets: ["JobqQueue"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Domain vocabulary shared by every other module: job states, commands, durations, paths.
        .target(name: "JobqCore"),
        .testTarget(name: "JobqCoreTests", dependencies: ["JobqCore"]),

        // The in-process bounded queue with asyncio.Queue semantics that the daemon's pools stand on.
        .target(
            name: "JobqQueue",
            dependencies: [.product(name: "DequeModule", package: "swift-collections")]
        ),
        .testTarget(name: "JobqQueueTests", dependencies: ["JobqQueue", "JobqTestSupport"]),

        // The system SQLite (libsqlite3), seen from Swift.
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The thin, typed edge over the SQLite C API: connection, statements, errors, and the
        // dedicated-thread executor every SQLite call runs on.
        .target(name: "JobqSQLite", dependencies: ["CSQLite", "CJobqSystem"]),
        // The durable job store shared by `jobq` and `jobqd`: schema, migrations, the
        // claim/complete protocol, the daemon lock and the doorbell.
        .target(name: "JobqStore", dependencies: ["JobqCore", "JobqSQLite"]),
        // A helper process for the store's multi-process and crash tests.
        .executableTarget(
            name: "jobq-store-fixture",
            dependencies: ["JobqStore", "JobqCore"],
            path: "Tests/jobq-store-fixture"
        ),
        .testTarget(
            name: "JobqStoreTests",
            dependencies: ["JobqStore", "JobqSQLite", "JobqCore", "JobqTestSupport", "jobq-store-fixture"],
            exclude: ["Fixtures"]
        ),

        // The few Linux calls Swift's Glibc module cannot make (variadic syscall/prctl, siginfo unions).
        .target(name: "CJobqSystem"),
        // Spawning, supervising, reaping and stopping job processes on one dedicated epoll thread.
        .target(
            name: "JobqProcess",
            dependencies: [
                "JobqCore",
                "CJobqSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "JobqProcessTests", dependencies: ["JobqProcess", "JobqCore", "JobqTestSupport"]),

        // The daemon's runtime: producer and consumer pools per queue, runners, group-committed
        // state transitions, recovery, systemd integration. Embeddable with in-process handlers.
        .target(
            name: "JobqDaemon",
            dependencies: [
                "JobqCore",
                "JobqQueue",
                "JobqStore",
                "JobqProcess",
                "CJobqSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The thin `jobqd` executable: flags, logging setup, then JobqDaemon.
        .executableTarget(
            name: "jobqd",
            dependencies: [
                "JobqDaemon",
                "JobqCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "JobqDaemonTests",
            dependencies: [
                "JobqDaemon", "JobqStore", "JobqCore", "JobqTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The `jobq` command line: one type per command, output formatting, batch parsing.
        .target(
            name: "JobqCLI",
            dependencies: [
                "JobqCore",
                "JobqStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The thin `jobq` executable: hands the process arguments to JobqCLI. Linked statically
        // (Swift runtime, SQLite, libc): no dynamic loader at start halves `jobq --version` and
        // takes ~1.7 ms off every `jobq add` (docs/benchmarks.md, "End to end").
        .executableTarget(
            name: "jobq",
            dependencies: ["JobqCLI"],
            linkerSettings: [
                // FoundationEssentials' own static dependencies, which `-static-executable` does not add.
                .unsafeFlags(
                    ["-static-executable", "-l_FoundationCollections", "-l_FoundationCShims"],
                    .when(platforms: [.linux]))
            ]
        ),
        // Test harness shared by the test suites: run binaries, temporary directories, polling, a
        // manual clock, a seeded random number generator.
        .target(
            name: "JobqTestSupport",
            dependencies: ["JobqCore", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "CLITests", dependencies: ["JobqCLI", "JobqCore", "JobqSQLite", "JobqTestSupport"]),
        // End-to-end tests of the real `jobqd` driven by the real `jobq`, plus the systemd unit
        // and the install script. Needs the products built (`scripts/test` does it).
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["JobqStore", "JobqSQLite", "JobqCore", "JobqProcess", "JobqTestSupport"]
        ),
        // The reliability harness: a real jobqd driven through $NOTIFY_SOCKET, the crash soak, /proc scans.
        .target(
            name: "JobqReliability",
            dependencies: ["JobqSQLite", "JobqTestSupport"],
            path: "Tests/JobqReliability"
        ),
        // `scripts/soak`: the crash soak at full size.
        .executableTarget(
            name: "jobq-soak",
            dependencies: [
                "JobqReliability", "JobqTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/jobq-soak"
        ),
        // Crashes, faults, hostile input and concurrency against the real binaries and the daemon library.
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "JobqStore", "JobqSQLite", "JobqCore", "JobqCLI", "JobqDaemon", "JobqTestSupport", "JobqReliability",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What every benchmark shares: the machine line, medians and percentiles, tables.
        .target(name: "BenchmarkSupport", path: "Benchmarks/BenchmarkSupport"),
        // The raw-SQLite claim/start/finish pipeline both store and daemon figures are compared with.
        .target(
            name: "RawSQLiteBaseline", dependencies: ["JobqSQLite", "JobqCore"], path: "Benchmarks/RawSQLiteBaseline"),
        // Throughput benchmarks (release builds only: `scripts/bench`), one suite per subsystem.
        .executableTarget(
            name: "jobq-bench",
            dependencies: [
                "BenchmarkSupport",
                "JobqQueue",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ],
            path: "Benchmarks/jobq-bench"
        ),
        // Store throughput and latency against a raw-SQLite baseline (`swift run -c release jobq-store-bench`).
        .executableTarget(
            name: "jobq-store-bench",
            dependencies: ["BenchmarkSupport", "RawSQLiteBaseline", "JobqStore", "JobqSQLite", "JobqCore"],
            path: "Benchmarks/jobq-store-bench"
        ),
        // The daemon end to end (`scripts/bench-jobqd`): no-op jobs through the library path vs. a
        // raw-SQLite pipeline, enqueue-to-start latency in-process and through `jobqd`, jobqd's memory.
        .executableTarget(
            name: "jobq-daemon-bench",
            dependencies: [
                "BenchmarkSupport", "RawSQLiteBaseline", "JobqDaemon", "JobqStore", "JobqSQLite", "JobqCore",
                "JobqTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/jobq-daemon-bench"
        ),
    ]
)
