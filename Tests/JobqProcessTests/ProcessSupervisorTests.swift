import Glibc
import JobqCore
import Logging
import Testing

import class JobqTestSupport.LogCapture
import class JobqTestSupport.TemporaryDirectory
import func JobqTestSupport.waitUntil

@testable import JobqProcess

@Suite("ProcessSupervisor", .serialized)
struct ProcessSupervisorTests {
    let supervisor = TestSupport.supervisor
    /// A directory of the test's own, removed after it.
    let directory = TemporaryDirectory()

    @Test func capturesStdout() async throws {
        let child = try supervisor.spawn(
            ProcessSpec(argv: ["echo", "hello", "world"], workingDirectory: "/", environment: TestSupport.environment))
        #expect(child.processGroup == child.pid)
        #expect(child.startTime == ProcessStat.startTime(of: child.pid) || !TestSupport.isRunning(child.pid))
        let termination = try await TestSupport.wait(child)
        #expect(termination == .exited(0))
        #expect(termination.isSuccess)
        let output = child.output()
        #expect(String(decoding: output.stdout, as: UTF8.self) == "hello world\n")
        #expect(output.stderr.isEmpty)
        #expect(output.stdoutByteCount == 12)
    }

    @Test func separatesStdoutAndStderrOfAShellScript() async throws {
        let child = try supervisor.spawn(TestSupport.shell("echo out; echo err >&2; exit 4"))
        #expect(try await TestSupport.wait(child) == .exited(4))
        #expect(String(decoding: child.output().stdout, as: UTF8.self) == "out\n")
        #expect(String(decoding: child.output().stderr, as: UTF8.self) == "err\n")
    }

    @Test func reportsTheExitCode() async throws {
        let child = try supervisor.spawn(TestSupport.shell("exit 3"))
        let termination = try await TestSupport.wait(child)
        #expect(termination == .exited(3))
        #expect(termination.description == "exit status 3")
    }

    /// Both pipes ending usually means the process exited, and the supervisor looks at once; a process
    /// that only closed them must still be waited for.
    @Test func aProcessThatClosesItsOutputEarlyIsStillWaitedFor() async throws {
        let child = try supervisor.spawn(TestSupport.shell("echo before; exec >&- 2>&-; sleep 0.2; exit 5"))
        #expect(try await TestSupport.wait(child) == .exited(5))
        #expect(String(decoding: child.output().stdout, as: UTF8.self) == "before\n")
    }

    @Test func reportsAKillingSignal() async throws {
        let child = try supervisor.spawn(TestSupport.shell("kill -KILL $$"))
        let termination = try await TestSupport.wait(child)
        #expect(termination == .signaled(SIGKILL))
        #expect(termination.description == "killed by signal 9 (SIGKILL)")
    }

    @Test func appliesExactlyTheGivenEnvironmentAndDirectory() async throws {
        let environment = ["PATH": "/usr/bin:/bin", "JOBQ_JOB_ID": "42", "WITH_SPACE": "a b=c"]
        let child = try supervisor.spawn(
            ProcessSpec(argv: ["env"], workingDirectory: directory.path, environment: environment))
        #expect(try await TestSupport.wait(child) == .exited(0))
        let lines = String(decoding: child.output().stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.sorted() == ["JOBQ_JOB_ID=42", "PATH=/usr/bin:/bin", "WITH_SPACE=a b=c"])

        let pwd = try supervisor.spawn(TestSupport.shell("pwd -P", in: directory.path))
        #expect(try await TestSupport.wait(pwd) == .exited(0))
        #expect(String(decoding: pwd.output().stdout, as: UTF8.self) == directory.path + "\n")
    }

    @Test func looksUpABareProgramInTheJobsPath() async throws {
        let script = directory.file("my-tool")
        let setup = try supervisor.spawn(
            TestSupport.shell("printf '#!/bin/sh\\necho from-my-tool\\n' > \(script) && chmod +x \(script)"))
        #expect(try await TestSupport.wait(setup) == .exited(0))
        let child = try supervisor.spawn(
            ProcessSpec(
                argv: ["my-tool"], workingDirectory: "/", environment: ["PATH": "/nonexistent:\(directory.path)"]))
        #expect(try await TestSupport.wait(child) == .exited(0))
        #expect(String(decoding: child.output().stdout, as: UTF8.self) == "from-my-tool\n")
    }

    @Test func startsTheChildClean() async throws {
        // Our own descriptors must not leak in; stdin is /dev/null; the job leads its own session and group.
        // (`ls` runs alone: in a pipeline the shell itself would briefly hold the pipe.)
        let script = """
            ls /proc/$$/fd
            readlink /proc/$$/fd/0
            ps -o pid=,pgid=,sid= -p $$ | awk '{ print ($1 == $2 && $2 == $3) ? "leader" : "member" }'
            """
        let child = try supervisor.spawn(TestSupport.shell(script))
        #expect(try await TestSupport.wait(child) == .exited(0))
        let lines = String(decoding: child.output().stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(
            lines == ["0", "1", "2", "/dev/null", "leader"], "\(String(decoding: child.output().stderr, as: UTF8.self))"
        )
    }

    @Test func startsTheChildWithDefaultSignalHandling() async throws {
        // Give the spawning thread something to reset: SIGPIPE ignored (as servers do) and SIGUSR2 blocked.
        // grep reads its own status (a shell would reset its mask itself and hide a mistake).
        signal(SIGPIPE, SIG_IGN)
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR2)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        let spawned = Result { () throws(SpawnError) in
            try supervisor.spawn(
                ProcessSpec(
                    argv: ["grep", "-E", "^(SigBlk|SigIgn)", "/proc/self/status"], workingDirectory: "/",
                    environment: TestSupport.environment))
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        let child = try spawned.get()
        #expect(try await TestSupport.wait(child) == .exited(0))
        let lines = String(decoding: child.output().stdout, as: UTF8.self).split(separator: "\n").map {
            $0.split(whereSeparator: { $0 == ":" || $0 == "\t" || $0 == " " }).map(String.init)
        }
        // glibc's posix_spawn leaves its two internal real-time signals (32, 33) ignored; programs cannot use
        // them anyway.
        #expect(lines == [["SigBlk", "0000000000000000"], ["SigIgn", "0000000180000000"]])
    }

    @Test func keepsOnlyTheTailOfAFlood() async throws {
        let spec = ProcessSpec(
            argv: ["/bin/sh", "-c", "head -c 50000000 /dev/zero; printf END"], workingDirectory: "/",
            environment: TestSupport.environment, outputTailLimit: 64 * 1024)
        let child = try supervisor.spawn(spec)
        #expect(try await TestSupport.wait(child, timeout: .seconds(60)) == .exited(0))
        let output = child.output()
        #expect(output.stdoutByteCount == 50_000_003)
        #expect(output.stdout.count == 64 * 1024)
        #expect(output.stdout.suffix(3) == Array("END".utf8))
        #expect(output.stdout.dropLast(3).allSatisfy { $0 == 0 })
    }

    @Test func outputCanBeReadWhileTheJobRuns() async throws {
        let go = directory.file("go")
        let child = try supervisor.spawn(
            TestSupport.shell("echo partial; while [ ! -e \(go) ]; do sleep 0.01; done; echo done"))
        try await waitUntil("the partial output", timeout: .seconds(10)) {
            child.output().stdout == Array("partial\n".utf8)
        }
        let touch = try supervisor.spawn(
            ProcessSpec(argv: ["touch", go], workingDirectory: "/", environment: TestSupport.environment))
        _ = try await TestSupport.wait(touch)
        #expect(try await TestSupport.wait(child) == .exited(0))
        #expect(String(decoding: child.output().stdout, as: UTF8.self) == "partial\ndone\n")
    }

    @Test func aMissingProgramIsAClearSpawnError() throws {
        #expect(throws: SpawnError.cannotRun(program: "nosuchprog", errno: ENOENT)) {
            try supervisor.spawn(
                ProcessSpec(argv: ["nosuchprog"], workingDirectory: "/", environment: TestSupport.environment))
        }
        #expect(
            SpawnError.cannotRun(program: "nosuchprog", errno: ENOENT).description
                == "cannot run 'nosuchprog': No such file or directory")
        #expect(throws: SpawnError.cannotRun(program: "/nonexistent/prog", errno: ENOENT)) {
            try supervisor.spawn(
                ProcessSpec(argv: ["/nonexistent/prog"], workingDirectory: "/", environment: TestSupport.environment))
        }
    }

    @Test func aNonExecutableProgramIsAClearSpawnError() async throws {
        let data = directory.file("data")
        let setup = try supervisor.spawn(TestSupport.shell("echo text > \(data) && chmod 644 \(data)"))
        #expect(try await TestSupport.wait(setup) == .exited(0))
        #expect(throws: SpawnError.cannotRun(program: data, errno: EACCES)) {
            try supervisor.spawn(ProcessSpec(argv: [data], workingDirectory: "/", environment: TestSupport.environment))
        }
        #expect(throws: SpawnError.cannotRun(program: "data", errno: EACCES)) {
            try supervisor.spawn(
                ProcessSpec(argv: ["data"], workingDirectory: "/", environment: ["PATH": directory.path]))
        }
        #expect(throws: SpawnError.invalidCommand("the command is empty")) {
            try supervisor.spawn(ProcessSpec(argv: [], workingDirectory: "/", environment: [:]))
        }
    }

    @Test func aBadDirectoryIsAClearSpawnError() async throws {
        let error = SpawnError.cannotChangeDirectory(path: "/nope", errno: ENOENT)
        #expect(throws: error) {
            try supervisor.spawn(
                ProcessSpec(argv: ["/bin/true"], workingDirectory: "/nope", environment: TestSupport.environment))
        }
        #expect(error.description == "cannot change to directory '/nope': No such file or directory")
        // The supervisor is unaffected.
        let child = try supervisor.spawn(TestSupport.shell("exit 0"))
        #expect(try await TestSupport.wait(child) == .exited(0))
    }

    @Test func terminateGroupStopsGrandchildren() async throws {
        let pidFile = directory.file("pids")
        let child = try supervisor.spawn(
            TestSupport.shell("sleep 1000 & echo $! >> \(pidFile); sleep 1000 & echo $! >> \(pidFile); wait"))
        let grandchildren = await TestSupport.pids(in: pidFile, count: 2)
        #expect(grandchildren.count == 2)
        #expect(grandchildren.allSatisfy(TestSupport.isRunning))

        child.terminateGroup(grace: .seconds(5))
        child.terminateGroup(grace: .seconds(5))
        #expect(try await TestSupport.wait(child) == .signaled(SIGTERM))
        // wait() returns only once the group is empty, so none of them may still exist.
        #expect(grandchildren.allSatisfy { ProcessStat.read(pid: $0) == nil })
    }

    @Test func aJobIgnoringSigtermIsKilledAfterTheGrace() async throws {
        let ready = directory.file("ready")
        let child = try supervisor.spawn(
            TestSupport.shell("trap '' TERM; echo $$ > \(ready); while :; do sleep 1; done"))
        #expect(await TestSupport.pids(in: ready, count: 1) == [child.pid])
        let start = ContinuousClock.now
        child.terminateGroup(grace: .milliseconds(300))
        #expect(try await TestSupport.wait(child) == .signaled(SIGKILL))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(5), "took \(elapsed)")
    }

    @Test func leftoversAreStoppedWhenTheMainProcessExits() async throws {
        let pidFile = directory.file("pids")
        // One leftover dies on SIGTERM, the other ignores it and needs the SIGKILL after the grace.
        let script = """
            sleep 1000 & echo $! >> \(pidFile)
            sh -c 'trap "" TERM; echo $$ >> \(pidFile); exec sleep 1000' &
            while [ "$(wc -l < \(pidFile))" -lt 2 ]; do sleep 0.01; done
            """
        let start = ContinuousClock.now
        let child = try supervisor.spawn(TestSupport.shell(script, killGrace: .milliseconds(300)))
        let leftovers = await TestSupport.pids(in: pidFile, count: 2)
        #expect(try await TestSupport.wait(child) == .exited(0))
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        #expect(leftovers.count == 2)
        #expect(leftovers.allSatisfy { ProcessStat.read(pid: $0) == nil })
    }

    @Test func cancellingAWaitNeitherLosesTheResultNorKillsTheChild() async throws {
        let ready = directory.file("ready")
        let child = try supervisor.spawn(TestSupport.shell("echo $$ > \(ready); exec sleep 1000"))
        _ = await TestSupport.pids(in: ready, count: 1)
        let waiter = Task { try await child.wait() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(TestSupport.isRunning(child.pid))

        child.terminateGroup(grace: .seconds(5))
        #expect(try await TestSupport.wait(child) == .signaled(SIGTERM))
        #expect(try await child.wait() == .signaled(SIGTERM))
    }

    /// Fast children exit while the spawning thread still registers them: none of their descriptors may be
    /// closed (and reused) before it is watched, which the supervisor would report as an error.
    @Test func manyConcurrentChildrenAreAllReapedWithoutLeaks() async throws {
        let descriptorsBefore = TestSupport.pipeAndPidfdCount()
        let log = LogCapture()
        var supervisor: ProcessSupervisor? = try ProcessSupervisor(logger: log.logger(level: .info))
        let spec = ProcessSpec(argv: ["/bin/true"], workingDirectory: "/", environment: TestSupport.environment)
        let total = 500
        let window = 8
        var pids: [Int32] = []
        var terminations: [Termination] = []
        try await withThrowingTaskGroup(of: (Int32, Termination).self) { group in
            for index in 0..<total {
                if index >= window, let (pid, termination) = try await group.next() {
                    pids.append(pid)
                    terminations.append(termination)
                }
                let child = try supervisor!.spawn(spec)
                group.addTask { (child.pid, try await TestSupport.wait(child)) }
            }
            for try await (pid, termination) in group {
                pids.append(pid)
                terminations.append(termination)
            }
        }
        #expect(terminations.count == total)
        #expect(terminations.allSatisfy { $0 == .exited(0) })
        #expect(log.errors.isEmpty, "\(log.errors)")
        let me = getpid()
        #expect(
            pids.allSatisfy { pid in
                guard let stat = ProcessStat.read(pid: pid) else { return true }
                return !(stat.parentPID == me && !stat.isLive)
            })
        // Dropping the supervisor ends its thread and closes its descriptors.
        supervisor = nil
        try await waitUntil(
            "pipes and pidfds back to \(descriptorsBefore) (now \(TestSupport.pipeAndPidfdCount()))",
            timeout: .seconds(10)
        ) { TestSupport.pipeAndPidfdCount() <= descriptorsBefore }
    }

    @Test func anEscapedProcessHoldingThePipesDoesNotKeepTheJobRunning() async throws {
        let pidFile = directory.file("pid")
        // The grandchild leaves the job's session but keeps its stdout: the job is over when its group is
        // empty, without waiting for an end of file that may never come.
        let child = try supervisor.spawn(
            TestSupport.shell(
                "echo before; setsid sh -c 'echo $$ > \(pidFile); exec sleep 1000' &\n"
                    + "while [ ! -s \(pidFile) ]; do sleep 0.01; done"))
        #expect(try await TestSupport.wait(child, timeout: .seconds(10)) == .exited(0))
        #expect(String(decoding: child.output().stdout, as: UTF8.self) == "before\n")
        let escaped = try #require(await TestSupport.pids(in: pidFile, count: 1).first)
        #expect(TestSupport.isRunning(escaped))
        kill(escaped, SIGKILL)
    }

    @Test func orphansOutsideTheJobsGroupAreReaped() async throws {
        let pidFile = directory.file("pid")
        // The grandchild leaves the job's session, so stopping the group does not touch it; as a subreaper we
        // adopt it when the job's shell exits, and must reap it when it dies.
        let child = try supervisor.spawn(
            TestSupport.shell(
                "setsid sh -c 'echo $$ > \(pidFile); exec sleep 1000' > /dev/null 2>&1 &\n"
                    + "while [ ! -s \(pidFile) ]; do sleep 0.01; done"))
        #expect(try await TestSupport.wait(child) == .exited(0))
        let orphan = try #require(await TestSupport.pids(in: pidFile, count: 1).first)
        try await waitUntil("the orphan adopted", timeout: .seconds(10)) {
            ProcessStat.read(pid: orphan)?.parentPID == getpid()
        }
        kill(orphan, SIGKILL)
        try await waitUntil("the orphan reaped", timeout: .seconds(10)) { ProcessStat.read(pid: orphan) == nil }
    }
}
