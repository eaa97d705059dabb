import Foundation
import JobqTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The repository this test file belongs to (the unit, the scripts and the README live there).
let repositoryRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
    return path
}()

/// `systemd-analyze`, where this machine has it.
let systemdAnalyze: String? = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { access($0, X_OK) == 0 }

/// Issue 6: the systemd unit verifies and is hardened.
@Suite("systemd unit", .enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed"))
struct SystemdUnitTests {
    @Test("systemd-analyze verify accepts the unit (ExecStart pointed at the built jobqd)")
    func verify() async throws {
        let analyze = try #require(systemdAnalyze)
        try await withTemporaryDirectory { directory in
            // verify checks that ExecStart's program exists, so point it at the freshly built one.
            let unit = try String(contentsOfFile: repositoryRoot + "/systemd/jobqd.service", encoding: .utf8)
            let jobqd = try Binaries.path(of: "jobqd")
            let installedPath = "\nExecStart=/usr/local/bin/jobqd "
            #expect(unit.contains(installedPath), "the unit's ExecStart is not the installed path")
            let copy = directory + "/jobqd.service"
            try unit.replacingOccurrences(of: installedPath, with: "\nExecStart=\(jobqd) ")
                .write(toFile: copy, atomically: true, encoding: .utf8)
            // Exact mode whatever the umask (another test may have it at 0 now): verify warns on world-writable units.
            #expect(chmod(copy, 0o644) == 0)

            let result = try await runProcess(analyze, ["verify", copy], timeout: .seconds(60))
            #expect(result.exitStatus == 0, "\(result)")
            #expect(!result.stderrText.contains("jobqd.service"), "\(result.stderrText)")
        }
    }

    @Test("systemd-analyze security rates the unit's exposure at 2.0 or better")
    func exposure() async throws {
        let analyze = try #require(systemdAnalyze)
        let result = try await runProcess(
            analyze, ["security", "--offline=true", "--no-pager", repositoryRoot + "/systemd/jobqd.service"],
            timeout: .seconds(60))
        let marker = "Overall exposure level for jobqd.service:"
        let line = try #require(
            result.stdoutText.split(separator: "\n").first { $0.contains(marker) }, "\(result)")
        let score = try #require(
            line.components(separatedBy: marker).last?.split(separator: " ").first.flatMap { Double($0) }, "\(line)")
        #expect(score <= 2.0, "\(line)")
    }
}

/// Issue 6: `scripts/install` with `DESTDIR`, `--bin-dir` (no release build) and `--uninstall`.
@Suite("install script")
struct InstallScriptTests {
    /// What an install into `--prefix /opt/jobq` puts where, with which mode.
    static let installed: [(path: String, mode: mode_t)] = [
        ("/opt/jobq/bin/jobq", 0o755),
        ("/opt/jobq/bin/jobqd", 0o755),
        ("/etc/systemd/system/jobqd.service", 0o644),
        ("/etc/sysusers.d/jobq.conf", 0o644),
        ("/etc/tmpfiles.d/jobq.conf", 0o644),
        ("/opt/jobq/share/doc/jobq/README.md", 0o644),
    ]

    /// Runs `scripts/install arguments…` with `DESTDIR=destination`.
    func install(_ arguments: [String], into destination: String) async throws -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        environment["DESTDIR"] = destination
        return try await runProcess(
            repositoryRoot + "/scripts/install", arguments, environment: environment, timeout: .seconds(120))
    }

    /// Every regular file under `root`, relative to it, sorted.
    func files(under root: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var found: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                found.append("/" + relative)
            }
        }
        return found.sorted()
    }

    @Test(
        "installs the built binaries, unit, sysusers, tmpfiles and README; twice is the same; --uninstall removes them")
    func installTwiceThenUninstall() async throws {
        try await withTemporaryDirectory { destination in
            let binaries = Binaries.directory
            let arguments = ["--prefix", "/opt/jobq", "--bin-dir", binaries]
            let first = try await install(arguments, into: destination)
            #expect(first.exitStatus == 0, "\(first)")
            #expect(files(under: destination) == Self.installed.map(\.path).sorted())
            for (path, mode) in Self.installed {
                var info = stat()
                #expect(stat(destination + path, &info) == 0, "\(path) missing")
                #expect(info.st_mode & 0o7777 == mode, "\(path): mode \(String(info.st_mode & 0o7777, radix: 8))")
            }
            for binary in ["jobq", "jobqd"] {
                #expect(
                    FileManager.default.contentsEqual(
                        atPath: binaries + "/" + binary, andPath: destination + "/opt/jobq/bin/" + binary),
                    "\(binary) differs from the built one")
            }
            let unit = try String(contentsOfFile: destination + "/etc/systemd/system/jobqd.service", encoding: .utf8)
            #expect(unit.contains("\nExecStart=/opt/jobq/bin/jobqd "), "ExecStart not rewritten to the prefix")
            #expect(!unit.contains("/usr/local/"))

            let second = try await install(arguments, into: destination)
            #expect(second.exitStatus == 0, "\(second)")
            #expect(files(under: destination) == Self.installed.map(\.path).sorted())
            let unitAgain = try String(
                contentsOfFile: destination + "/etc/systemd/system/jobqd.service", encoding: .utf8)
            #expect(unitAgain == unit)

            let removed = try await install(["--prefix", "/opt/jobq", "--uninstall"], into: destination)
            #expect(removed.exitStatus == 0, "\(removed)")
            #expect(files(under: destination) == [])
            let removedAgain = try await install(["--prefix", "/opt/jobq", "--uninstall"], into: destination)
            #expect(removedAgain.exitStatus == 0, "\(removedAgain)")
        }
    }

    @Test("an unknown option is a usage error that installs nothing")
    func unknownOption() async throws {
        try await withTemporaryDirectory { destination in
            let result = try await install(["--bin-dir", Binaries.directory, "--frobnicate"], into: destination)
            #expect(result.exitStatus == 64, "\(result)")
            #expect(files(under: destination) == [])
        }
    }
}
