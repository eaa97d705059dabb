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
