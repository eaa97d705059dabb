import BenchmarkSupport
import JobqStore
import JobqTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A `jobqd` started on a database for a measurement, and what can be read about it.
struct Jobqd {
    let process: ChildProcess
    let databasePath: String

    /// Starts `executable` on `databasePath` (log level warning) and waits until it takes jobs:
    /// it holds the lock and its doorbell socket exists, so it has recovered and notices new
    /// jobs at once.
    static func start(_ executable: String, databasePath: String, arguments: [String] = []) async throws -> Jobqd {
        let process = try ChildProcess.launch(
            executable, ["--db", databasePath, "--log-level", "warning"] + arguments)
        let daemon = Jobqd(process: process, databasePath: databasePath)
        do {
            try await waitUntil("jobqd to take jobs", timeout: .seconds(30)) {
                if process.hasExited {
                    throw BenchmarkError(
                        "jobqd exited at start: \(String(decoding: process.outputSoFar.stderr, as: UTF8.self))")
                }
                var lock = stat()
                return access(Doorbell.socketPath(databasePath: databasePath), F_OK) == 0
                    && stat(databasePath + ".lock", &lock) == 0 && lock.st_size > 0
            }
        } catch {
            await daemon.stop()
            throw error
        }
        return daemon
    }

    /// SIGTERM, then waits for the exit (SIGKILL after 30 s).
    func stop() async {
        process.send(SIGTERM)
        _ = try? await process.waitForExit(timeout: .seconds(30))
    }

    /// A `kB` line of /proc/PID/status (`VmRSS`, `VmHWM`), in KiB.
    func status(_ field: String) throws -> Int {
        let path = "/proc/\(process.pid)/status"
        guard let line = firstLine(of: path, startingWith: field + ":"),
            let value = Int(line.dropFirst(field.count + 1).filter(\.isNumber))
        else { throw BenchmarkError("no \(field) in \(path) (is jobqd gone?)") }
        return value
    }
}

/// Runs `argv` directly (posix_spawn with its stdout on a pipe, as `jobqd` runs a job) and
/// returns what it printed: the floor under `jobqd`'s enqueue-to-start latency.
func spawnAndRead(_ argv: [String]) throws -> String {
    var pipe: [Int32] = [-1, -1]
    guard Glibc.pipe(&pipe) == 0 else { throw BenchmarkError("pipe: errno \(errno)") }
    // The read end must not leak into the child, or the read below would never see EOF.
    _ = fcntl(pipe[0], F_SETFD, FD_CLOEXEC)
    defer { close(pipe[0]) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipe[1], STDOUT_FILENO)
    let arguments = argv.map { strdup($0) } + [nil]
    defer { for argument in arguments { free(argument) } }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, argv[0], &actions, nil, arguments, environ)
    close(pipe[1])
    guard status == 0 else { throw BenchmarkError("cannot spawn \(argv[0]): errno \(status)") }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
        let count = read(pipe[0], &buffer, buffer.count)
        if count > 0 {
            output += buffer.prefix(count)
        } else if count == 0 || errno != EINTR {
            break
        }
    }
    var exitStatus: Int32 = 0
    while waitpid(pid, &exitStatus, 0) < 0, errno == EINTR {}
    return String(decoding: output, as: UTF8.self)
}
