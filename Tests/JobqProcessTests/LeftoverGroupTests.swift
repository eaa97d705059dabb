import Glibc
import Testing

import class JobqTestSupport.TemporaryDirectory
import func JobqTestSupport.waitUntil

@testable import JobqProcess

@Suite("stopLeftoverGroup", .serialized)
struct LeftoverGroupTests {
    /// A directory of the test's own, removed after it.
    let directory = TemporaryDirectory()

    /// Starts a process in a session (and group) of its own that no supervisor tracks — what a crashed daemon
    /// leaves behind — and returns its pid once it has written it.
    private func forgottenGroup(_ directory: TemporaryDirectory, ignoringTerm: Bool = false) async throws -> Int32 {
        let pidFile = directory.file("leader")
        let trap = ignoringTerm ? "trap \"\" TERM; " : ""
        let child = try TestSupport.supervisor.spawn(
            TestSupport.shell(
                "setsid sh -c '\(trap)sleep 1000 & echo $$ > \(pidFile); wait' > /dev/null 2>&1 &\n"
                    // Leave only once the grandchild has left our group, or stopping the group would hit it.
                    + "while [ ! -s \(pidFile) ]; do sleep 0.01; done"))
        #expect(try await TestSupport.wait(child) == .exited(0))
        return try #require(await TestSupport.pids(in: pidFile, count: 1).first)
    }

    @Test func stopsALiveGroupButNotOneWhosePidWasReused() async throws {
        let leader = try await forgottenGroup(directory)
        let startTime = try #require(ProcessStat.startTime(of: leader))
        #expect(ProcessStat.read(pid: leader)?.processGroup == leader)

        let reused = await ProcessSupervisor.stopLeftoverGroup(
            processGroup: leader, leaderStartTime: startTime + 1, grace: .seconds(5))
        #expect(reused == .pidReused)
        #expect(TestSupport.isRunning(leader))

        let stopped = await ProcessSupervisor.stopLeftoverGroup(
            processGroup: leader, leaderStartTime: startTime, grace: .seconds(5))
        #expect(stopped == .stopped)
        // Stopped means no live member: exited ones may still wait to be reaped by their new parent.
        #expect(!ProcessSupervisor.hasLiveMember(leader))

        let again = await ProcessSupervisor.stopLeftoverGroup(
            processGroup: leader, leaderStartTime: startTime, grace: .seconds(5))
        #expect(again == .nothingLeft)
    }

    @Test func killsAGroupThatIgnoresSigterm() async throws {
        let leader = try await forgottenGroup(directory, ignoringTerm: true)
        let startTime = try #require(ProcessStat.startTime(of: leader))
        let result = await ProcessSupervisor.stopLeftoverGroup(
            processGroup: leader, leaderStartTime: startTime, grace: .milliseconds(200))
        #expect(result == .killed)
        // Stopped means no live member: exited ones may still wait to be reaped by their new parent.
        #expect(!ProcessSupervisor.hasLiveMember(leader))
    }

    /// A group whose only members have exited but are not reaped (their parent never waits) has nothing to
    /// stop. Counting such zombies as alive made recovery signal them, wait out the grace and report them as
    /// surviving SIGKILL — on every restart after a crash, where pid 1 reaps orphans late.
    @Test func aGroupOfOnlyZombiesHasNothingLeftToStop() async throws {
        let zombieFile = directory.file("zombie")
        let parentFile = directory.file("parent")
        // The inner `setsid sh` starts group G = its pid, waits until its parent has exec'd into a `sleep`
        // (which never reaps anyone), writes its pid and exits: G then holds just that zombie. The parent has a
        // session of its own too, so stopping the spawned shell's group when it exits leaves it alone.
        let child = try TestSupport.supervisor.spawn(
            TestSupport.shell(
                "setsid sh -c 'setsid sh -c \"while [ \\\"\\$(cat /proc/\\$PPID/comm)\\\" != sleep ]; do sleep 0.01; done; "
                    + "echo \\$\\$ > \(zombieFile)\" & echo $$ > \(parentFile); exec sleep 1000' > /dev/null 2>&1 &\n"
                    + "while [ ! -s \(zombieFile) ] || [ ! -s \(parentFile) ]; do sleep 0.01; done"))
        #expect(try await TestSupport.wait(child) == .exited(0))
        let zombie = try #require(await TestSupport.pids(in: zombieFile, count: 1).first)
        let parent = try #require(await TestSupport.pids(in: parentFile, count: 1).first)
        defer { kill(parent, SIGKILL) }
        try await waitUntil("pid \(zombie) a zombie", timeout: .seconds(30)) {
            ProcessStat.read(pid: zombie)?.state == "Z"
        }
        #expect(ProcessStat.read(pid: zombie)?.processGroup == zombie)

        let result = await ProcessSupervisor.stopLeftoverGroup(
            processGroup: zombie, leaderStartTime: try #require(ProcessStat.startTime(of: zombie)),
            grace: .milliseconds(100))
        #expect(result == .nothingLeft)
    }

    @Test func refusesNumbersThatAreNoJobsGroup() async {
        for group: Int32 in [-5, 0, 1] {
            #expect(
                await ProcessSupervisor.stopLeftoverGroup(processGroup: group, leaderStartTime: 0, grace: .zero)
                    == .invalidGroup)
        }
    }
}
