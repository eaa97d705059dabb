// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "jobq",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "jobq-bench", targets: ["jobq-bench"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
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
        .testTarget(name: "JobqQueueTests", dependencies: ["JobqQueue"]),

        // Throughput benchmarks (release builds only: `scripts/bench`), one suite per subsystem.
        .executableTarget(
            name: "jobq-bench",
            dependencies: [
                "JobqQueue",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ],
            path: "Benchmarks/jobq-bench"
        ),
    ]
)
