import JobqReliability
import JobqTestSupport
import Testing

/// The short variants of `scripts/soak`: the same driver, a few hundred jobs.
@Suite("crash soak")
struct SoakTests {
    @Test("SIGKILL at random moments: nothing lost, only runs cut short by a kill run twice, no orphans")
    func killSoak() async throws {
        try await withTemporaryDirectory { directory in
            var options = SoakOptions(directory: directory)
            options.jobs = 300
            options.stops = 5
            options.slowEvery = 50
            options.slowSeconds = 1
            options.seed = 7
            let report = try await Soak(options: options).run()
            #expect(report.passed, "\(report.summary): \(report.problems)")
            #expect(report.stops == 5 && report.lost == 0 && report.orphans == 0, "\(report.summary)")
            #expect(report.duplicates <= report.runningAtStops, "\(report.summary)")
        }
    }

    @Test("SIGTERM at random moments: nothing lost and nothing runs twice")
    func gracefulSoak() async throws {
        try await withTemporaryDirectory { directory in
            var options = SoakOptions(directory: directory)
            options.jobs = 200
            options.stops = 3
            options.stop = .terminate
            options.slowEvery = 50
            options.slowSeconds = 1
            options.seed = 11
            let report = try await Soak(options: options).run()
            #expect(report.passed, "\(report.summary): \(report.problems)")
            #expect(report.stops == 3 && report.lost == 0 && report.duplicates == 0, "\(report.summary)")
        }
    }
}
