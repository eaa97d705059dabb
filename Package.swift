// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "jobq",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Domain vocabulary shared by every other module: job states, commands, durations, paths.
        .target(name: "JobqCore"),
        .testTarget(name: "JobqCoreTests", dependencies: ["JobqCore"]),
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
        .testTarget(name: "JobqProcessTests", dependencies: ["JobqProcess", "JobqCore"]),
    ]
)
