// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "jobq",
    platforms: [.macOS(.v15)],
    dependencies: [],
    targets: [
        // Domain vocabulary shared by every other module: job states, commands, durations, paths.
        .target(name: "JobqCore"),
        .testTarget(name: "JobqCoreTests", dependencies: ["JobqCore"]),
    ]
)
