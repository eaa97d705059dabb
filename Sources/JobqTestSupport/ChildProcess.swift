import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    /// It called `exit` with this status.
    case exited(Int32)
    /// A signal ended it.
    case signalled(Int32)

    public var description: String {
        switch self {
        case .exited(let status): "exit status \(status)"
        case .signalled(let signal): "signal \(signal)"
        }
    }
}

/// Everything a finished child process left: how it ended and what it wrote.
public struct ProcessResult: Sendable, Hashable, CustomStringConvertible {
    /// How it ended.
    public var termination: Termination
    /// Everything it wrote to stdout.
    public var stdout: [UInt8]
    /// Everything it wrote to stderr.
    public var stderr: [UInt8]

    /// The exit status, or `nil` if a signal ended it.
    public var exitStatus: Int32? {
        if case .exited(let status) = termination { status } else { nil }
    }

    /// stdout as text (invalid UTF-8 replaced).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// stderr as text (invalid UTF-8 replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    public var description: String {
        "\(termination); stdout: \(stdoutText.debugDescription); stderr: \(stderrText.debugDescription)"
    }
}

/// Why a child process could not be run or waited for.
public enum ProcessError: Error, CustomStringConvertible {
    /// `posix_spawn` (or creating a pipe) failed with this `errno`.
    case spawnFailed(executable: String, errno: Int32)
    /// It did not end within the timeout; it was killed (its whole process group) and this is
    /// what it had written.
    case timedOut(executable: String, timeout: Duration, partial: ProcessResult)

    public var description: String {
        switch self {
        case .spawnFailed(let executable, let code):
            "cannot run \(executable): \(String(cString: strerror(code)))"
        case .timedOut(let executable, let timeout, let partial):
            "\(executable) did not finish within \(timeout); killed. So far: \(partial)"
        }
    }
}

/// A running child process whose stdout and stderr are collected in the background, so it
/// never blocks on a full pipe.
///
/// It runs in its own process group (so a timeout can kill everything it started) with the
/// default signal dispositions, whatever the test process ignores. A dedicated thread (not
/// the cooperative pool) polls its pipes and reaps it.
public final class ChildProcess: Sendable {
    /// The child's process id (also its process group id).
    public let pid: pid_t
    /// The path it was started from, for messages.
    public let executable: String
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var termination: Termination?
        var waiters: [CheckedContinuation<ProcessResult, Never>] = []

        var result: ProcessResult? {
            termination.map { ProcessResult(termination: $0, stdout: stdout, stderr: stderr) }
        }
    }

    private init(pid: pid_t, executable: String) {
        self.pid = pid
        self.executable = executable
        self.state = Mutex(State())
    }

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - environment: the complete environment; `nil` inherits this process's.
    ///   - currentDirectory: where it starts; `nil` for this process's directory.
    ///   - standardInput: bytes written to its stdin, which is then closed; `nil` gives it `/dev/null`.
    public static func launch(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        currentDirectory: String? = nil,
        standardInput: [UInt8]? = nil
    ) throws(ProcessError) -> ChildProcess {
        // Writing stdin to a child that exited early must give EPIPE here, not kill the test.
        signal(SIGPIPE, SIG_IGN)

        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        var stdinPipe: [Int32] = [-1, -1]
        guard Libc.pipe2(&stdoutPipe, O_CLOEXEC) == 0 else { throw .spawnFailed(executable: executable, errno: errno) }
        guard Libc.pipe2(&stderrPipe, O_CLOEXEC) == 0 else {
            let code = errno
            for descriptor in stdoutPipe { close(descriptor) }
            throw .spawnFailed(executable: executable, errno: code)
        }
        if standardInput != nil {
            guard Libc.pipe2(&stdinPipe, O_CLOEXEC) == 0 else {
                let code = errno
                for descriptor in stdoutPipe + stderrPipe { close(descriptor) }
                throw .spawnFailed(executable: executable, errno: code)
            }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if standardInput != nil {
            posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], STDIN_FILENO)
        } else {
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], STDERR_FILENO)
        if let currentDirectory, !Libc.addChdir(&actions, currentDirectory) {
            for descriptor in stdoutPipe + stderrPipe + (standardInput == nil ? [] : stdinPipe) { close(descriptor) }
            throw .spawnFailed(executable: executable, errno: ENOSYS)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        sigdelset(&defaultSignals, SIGKILL)
        sigdelset(&defaultSignals, SIGSTOP)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let environmentEntries = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = environmentEntries.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)

        // The child has its own copies now (or never started).
        close(stdoutPipe[1])
        close(stderrPipe[1])
        if standardInput != nil { close(stdinPipe[0]) }
        guard status == 0 else {
            close(stdoutPipe[0])
            close(stderrPipe[0])
            if standardInput != nil { close(stdinPipe[1]) }
            throw .spawnFailed(executable: executable, errno: status)
        }

        let process = ChildProcess(pid: pid, executable: executable)
        let pipes = PipeSet(
            stdout: stdoutPipe[0], stderr: stderrPipe[0], stdin: standardInput == nil ? -1 : stdinPipe[1])
        let input = standardInput ?? []
        let thread = Thread { process.collect(pipes, input: input) }
        thread.name = "ChildProcess \(pid)"
        thread.start()
        return process
    }

    /// What the child has written so far (it may still be running).
    public var outputSoFar: (stdout: [UInt8], stderr: [UInt8]) {
        state.withLock { ($0.stdout, $0.stderr) }
    }

    /// Whether it has ended (and been reaped).
    public var hasExited: Bool { state.withLock { $0.termination != nil } }

    /// Sends `signal` to the child process alone (not its group).
    public func send(_ signal: Int32) {
        guard !hasExited else { return }
        kill(pid, signal)
    }

    /// Waits for the child to end. After `timeout` the child's whole process group is killed
    /// with SIGKILL and `ProcessError.timedOut` is thrown with what it wrote.
    public func waitForExit(timeout: Duration) async throws(ProcessError) -> ProcessResult {
        let outcome = await withTaskGroup(of: ProcessResult?.self) { group in
            group.addTask { await self.exited() }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    return nil  // cancelled: the process ended first
                }
                kill(-self.pid, SIGKILL)
                return nil
            }
            var finished: ProcessResult?
            var timedOut = false
            while let next = await group.next() {
                if let result = next {
                    finished = result
                    group.cancelAll()
                } else if finished == nil {
                    timedOut = true
                }
            }
            return (finished!, timedOut)
        }
        if outcome.1 { throw .timedOut(executable: executable, timeout: timeout, partial: outcome.0) }
        return outcome.0
    }

    private func exited() async -> ProcessResult {
        await withCheckedContinuation { continuation in
            let ready: ProcessResult? = state.withLock { state in
                if let result = state.result { return result }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private struct PipeSet {
        var stdout: Int32
        var stderr: Int32
        var stdin: Int32
    }

    /// Runs on the child's own thread: moves pipe data into `state` until the child has
    /// exited and its pipes are drained, then reaps it and wakes the waiters.
    private func collect(_ pipes: PipeSet, input: [UInt8]) {
        var readable = [pipes.stdout, pipes.stderr]
        var stdinFD = pipes.stdin
        var inputOffset = 0
        if stdinFD >= 0 { _ = fcntl(stdinFD, F_SETFL, fcntl(stdinFD, F_GETFL) | O_NONBLOCK) }
        if stdinFD >= 0, input.isEmpty {
            close(stdinFD)
            stdinFD = -1
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var reapedStatus: Int32?
        var childGone = false

        while !readable.isEmpty {
            var pollSet = readable.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if stdinFD >= 0 { pollSet.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            // Once the child is gone only what is already buffered is left to read.
            let ready = poll(&pollSet, nfds_t(pollSet.count), childGone ? 0 : 100)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                if childGone { break }
                // A grandchild may hold the pipes open after the child exited: check directly.
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    reapedStatus = status
                    childGone = true
                }
                continue
            }
            for entry in pollSet where entry.revents != 0 {
                if entry.fd == stdinFD {
                    let written = input.withUnsafeBytes { bytes in
                        write(stdinFD, bytes.baseAddress! + inputOffset, min(65_536, input.count - inputOffset))
                    }
                    if written > 0 { inputOffset += written }
                    if (written < 0 && errno != EAGAIN && errno != EINTR) || inputOffset == input.count {
                        close(stdinFD)
                        stdinFD = -1
                    }
                    continue
                }
                let count = read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    let chunk = buffer[0..<count]
                    let isStdout = entry.fd == pipes.stdout
                    state.withLock { state in
                        if isStdout {
                            state.stdout.append(contentsOf: chunk)
                        } else {
                            state.stderr.append(contentsOf: chunk)
                        }
                    }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(entry.fd)
                    readable.removeAll { $0 == entry.fd }
                }
            }
        }
        for descriptor in readable { close(descriptor) }
        if stdinFD >= 0 { close(stdinFD) }

        var status: Int32 = 0
        if let reapedStatus {
            status = reapedStatus
        } else {
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        let termination: Termination =
            (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signalled(status & 0x7F)
        let (result, waiters) = state.withLock { state in
            state.termination = termination
            let waiters = state.waiters
            state.waiters = []
            return (state.result!, waiters)
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }
}

/// glibc functions that Swift's Glibc module does not export (they need `_GNU_SOURCE`):
/// `pipe2` and `posix_spawn_file_actions_addchdir_np` (glibc ≥ 2.29), looked up once.
private enum Libc {
    typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

    private static func lookUp<Function>(_ name: String, as type: Function.Type) -> Function? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }

    /// `pipe2(2)`: the descriptors are close-on-exec from the start, so a child spawned by
    /// another thread at the same moment cannot inherit them (and hold the pipe open).
    static func pipe2(_ descriptors: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        guard let function = lookUp("pipe2", as: Pipe2.self) else {
            errno = ENOSYS
            return -1
        }
        return function(descriptors, flags)
    }

    /// Adds a `chdir` to the spawn's file actions; false if that is not supported.
    static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ directory: String) -> Bool {
        guard let function = lookUp("posix_spawn_file_actions_addchdir_np", as: AddChdir.self) else { return false }
        return function(actions, directory) == 0
    }
}

/// Runs `executable` to completion and returns what it did (see `ChildProcess.launch`).
/// Throws `ProcessError.timedOut` (after killing it) if it runs longer than `timeout`.
public func runProcess(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String]? = nil,
    currentDirectory: String? = nil,
    standardInput: [UInt8]? = nil,
    timeout: Duration = .seconds(60)
) async throws(ProcessError) -> ProcessResult {
    let process = try ChildProcess.launch(
        executable, arguments, environment: environment, currentDirectory: currentDirectory,
        standardInput: standardInput)
    return try await process.waitForExit(timeout: timeout)
}
