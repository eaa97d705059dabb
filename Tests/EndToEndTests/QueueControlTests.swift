import Foundation
import JobqCore
import JobqStore
import JobqTestSupport
import Testing

/// SPEC §4: `pause`, `resume` and `queue set` reach a running daemon live.
@Suite("Queue control")
struct QueueControlTests {
    @Test("a paused queue starts nothing while other queues run; resume starts its jobs")
    func pauseAndResume() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            try await scenario.succeed(["pause", "held"])
            var held: [JobID] = []
            for index in 0..<3 {
                held.append(try await scenario.addShell("touch held.\(index)", options: ["--queue", "held"]))
            }
            // Enqueued after the held jobs and run at once: by then the daemon has seen them too.
            let probe = try await scenario.addShell("true", options: ["--queue", "free"])
            #expect(try await scenario.waitUntilFinished(probe).state == .succeeded)
            for id in held {
                let job = try await scenario.job(id)
                #expect(job.state == .pending && job.attempts == 0, "\(Scenario.summary(job))")
            }
            let status = try await scenario.succeed(["status", "--queue", "held", "--json"])
            let document = try JSONSerialization.jsonObject(with: Data(status.stdout)) as? [String: Any]
            let queues = document?["queues"] as? [[String: Any]]
            #expect(queues?.first?["paused"] as? Bool == true, "\(status)")

            try await scenario.succeed(["resume", "held"])
            for (index, id) in held.enumerated() {
                #expect(try await scenario.waitUntilFinished(id).state == .succeeded)
                #expect(scenario.exists("held.\(index)"))
            }
        }
    }

    @Test("queue set --concurrency applies live: a second job starts beside the first")
    func liveConcurrency() async throws {
        try await withScenario { scenario in
            try await scenario.startDaemon()
            try await scenario.succeed(["queue", "set", "narrow", "--concurrency", "1"])
            // Each job announces itself, then holds its slot until the test lets go.
            let script = "touch running.$JOBQ_JOB_ID; while [ ! -e release ]; do sleep 0.02; done"
            let first = try await scenario.addShell(script, options: ["--queue", "narrow"])
            let second = try await scenario.addShell(script, options: ["--queue", "narrow"])
            let (firstOn, secondOn) = ("running.\(first)", "running.\(second)")

            try await scenario.waitFor("one job to run") { scenario.exists(firstOn) || scenario.exists(secondOn) }
            #expect(!(scenario.exists(firstOn) && scenario.exists(secondOn)), "concurrency 1 ran two jobs at once")

            try await scenario.succeed(["queue", "set", "narrow", "--concurrency", "2"])
            // Neither can end before `release` exists, so both files mean two at once.
            try await scenario.waitFor("both jobs to run at once") {
                scenario.exists(firstOn) && scenario.exists(secondOn)
            }
            let firstJob = try await scenario.job(first)
            let secondJob = try await scenario.job(second)
            #expect(firstJob.state == .running && secondJob.state == .running)

            scenario.touch("release")
            #expect(try await scenario.waitUntilFinished(first).state == .succeeded)
            #expect(try await scenario.waitUntilFinished(second).state == .succeeded)
        }
    }

    @Test("a concurrency lowered while consumers wait for work holds for the next jobs")
    func loweredConcurrencyWithIdleConsumers() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon(["--idle-timeout": "10m"])
            try await scenario.succeed(["queue", "set", "wide", "--concurrency", "3"])
            // Three jobs at once, then nothing: three consumers wait for work.
            func hold(until release: String) -> String {
                "touch running.$JOBQ_JOB_ID; while [ ! -e \(release) ]; do sleep 0.02; done"
            }
            var first: [JobID] = []
            for _ in 0..<3 {
                first.append(try await scenario.addShell(hold(until: "release.1"), options: ["--queue", "wide"]))
            }
            try await scenario.waitFor("three jobs at once") { first.allSatisfy { scenario.exists("running.\($0)") } }
            scenario.touch("release.1")
            for id in first { #expect(try await scenario.waitUntilFinished(id).state == .succeeded) }

            try await scenario.succeed(["queue", "set", "wide", "--concurrency", "1"])
            try await scenario.waitFor("the change applied") { daemon.log.contains("queue.concurrency=1") }
            let a = try await scenario.addShell(hold(until: "release.2"), options: ["--queue", "wide"])
            let b = try await scenario.addShell(hold(until: "release.2"), options: ["--queue", "wide"])
            // One runs; the daemon holds the other in memory (claimed) until a slot frees.
            try await scenario.waitFor("one running, the other held back") {
                let (jobA, jobB) = (try await scenario.job(a), try await scenario.job(b))
                return jobA.state == .running && jobB.state == .pending && jobB.claimed
                    || jobB.state == .running && jobA.state == .pending && jobA.claimed
            }
            scenario.touch("release.2")
            #expect(try await scenario.waitUntilFinished(a).state == .succeeded)
            #expect(try await scenario.waitUntilFinished(b).state == .succeeded)
        }
    }

    @Test("an idle consumer ends after the idle timeout, and the pool grows back when work arrives")
    func idleScaleDown() async throws {
        try await withScenario { scenario in
            let daemon = try await scenario.startDaemon(["--idle-timeout": "100ms"])
            let first = try await scenario.addShell("true")
            #expect(try await scenario.waitUntilFinished(first).state == .succeeded)
            try await scenario.waitFor("the idle consumer to end") { daemon.log.contains("consumer idle; ending") }
            let startedBefore = daemon.log.components(separatedBy: "consumer started").count

            let second = try await scenario.addShell("true")
            #expect(try await scenario.waitUntilFinished(second).state == .succeeded)
            #expect(daemon.log.components(separatedBy: "consumer started").count > startedBefore)
        }
    }
}
