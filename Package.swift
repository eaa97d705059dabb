// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "jobq",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "jobq", targets: ["jobq"]),
        .library(name: "JobqTestSupport", targets: ["JobqTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Domain vocabulary shared by every other module: job states, commands, durations, paths.
        .target(name: "JobqCore"),
        .testTarget(name: "JobqCoreTests", dependencies: ["JobqCore"]),

        // The system SQLite (libsqlite3), seen from Swift.
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The thin, typed edge over the SQLite C API: connection, statements, errors, and the
        // dedicated-thread executor every SQLite call runs on.
        .target(name: "JobqSQLite", dependencies: ["CSQLite"]),
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
            dependencies: ["JobqStore", "JobqSQLite", "JobqCore", "jobq-store-fixture"],
            exclude: ["Fixtures"]
        ),
        // Store throughput and latency against a raw-SQLite baseline (`swift run -c release jobq-store-bench`).
        .executableTarget(
            name: "jobq-store-bench",
            dependencies: ["JobqStore", "JobqSQLite", "JobqCore"],
            path: "Benchmarks/jobq-store-bench"
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
        // The thin `jobq` executable: hands the process arguments to JobqCLI.
        .executableTarget(name: "jobq", dependencies: ["JobqCLI"]),
        // Test harness shared by the end-to-end suites: run binaries, temporary directories, polling.
        .target(name: "JobqTestSupport"),
        .testTarget(name: "CLITests", dependencies: ["JobqCLI", "JobqCore", "JobqTestSupport"]),
    ]
)
