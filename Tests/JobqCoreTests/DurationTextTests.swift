import JobqCore
import Testing

@Suite struct DurationTextTests {
    @Test(
        arguments: [
            ("1.5", 1500), ("500ms", 500), ("2s", 2000), ("5m", 300_000), ("1h", 3_600_000), ("0", 0), (" 3s ", 3000),
            ("1d", 86_400_000), ("0.25s", 250),
        ] as [(String, Int64)])
    func parsesWhatPeopleWrite(text: String, milliseconds: Int64) throws {
        #expect(try DurationText.parse(text) == .milliseconds(milliseconds))
    }

    @Test(arguments: ["", "ms", "-1s", "1x", "1e3", "nan", "inf", "1.2.3s", "5 m", "１s", "99999999999h"])
    func rejectsNonsense(text: String) {
        #expect(throws: DurationText.ParseError.self) { try DurationText.parse(text) }
    }

    @Test func tenYearsAtMost() throws {
        #expect(try DurationText.parse("3650d") == DurationText.longest)
        let error = #expect(throws: DurationText.ParseError.self) { try DurationText.parse("3651d") }
        #expect(error?.description == "invalid duration '3651d': at most 3650d (ten years)")
        #expect(error?.tooLong == true)
        let nonsense = #expect(throws: DurationText.ParseError.self) { try DurationText.parse("soon") }
        #expect(nonsense?.tooLong == false)
    }

    @Test(arguments: [250, 2000, 1500, 300_000, 7_200_000] as [Int64])
    func formatReadsBack(milliseconds: Int64) throws {
        let duration = Duration.milliseconds(milliseconds)
        #expect(try DurationText.parse(DurationText.format(duration)) == duration)
    }
}

@Suite struct RetryBackoffTests {
    @Test func doublesFromTheBaseUpToTheCap() {
        let backoff = RetryBackoff(base: .seconds(1), cap: .seconds(10))
        let full = (1...6).map { backoff.delay(afterFailure: $0, jitter: 1) }
        #expect(full == [1, 2, 4, 8, 10, 10].map { Duration.seconds($0) })
        #expect(backoff.delay(afterFailure: 3, jitter: 0) == .seconds(2))
        #expect(backoff.delay(afterFailure: 500, jitter: 1) == .seconds(10))
    }

    @Test func randomJitterStaysInHalfToFull() {
        let backoff = RetryBackoff(base: .milliseconds(800), cap: .seconds(3600))
        for _ in 0..<200 {
            let delay = backoff.delay(afterFailure: 2)
            #expect(delay >= .milliseconds(800) && delay <= .milliseconds(1600))
        }
    }
}

@Suite struct DatabaseLocationTests {
    @Test func explicitFlagWins() throws {
        let environment = ["JOBQ_DB": "/y.db"]
        let path = try DatabaseLocation.resolve(
            explicit: "/tmp/x.db", environment: environment, notUTF8: ["JOBQ_DB"], for: .client
        ) { _ in true }
        #expect(path == "/tmp/x.db")
    }

    /// The path, or the problem's description.
    static func resolve(
        _ environment: [String: String], notUTF8: Set<String> = [], existing: String? = nil,
        for role: DatabaseLocation.Role = .client, home: String? = "/pw"
    ) -> String {
        do {
            return try DatabaseLocation.resolve(explicit: nil, environment: environment, notUTF8: notUTF8, for: role) {
                $0 == existing
            } homeDirectory: {
                home
            }
        } catch {
            return error.description
        }
    }

    @Test func environmentThenSystemThenXDG() {
        #expect(Self.resolve(["JOBQ_DB": "/y.db"], existing: "/var/lib/jobq/jobq.db") == "/y.db")
        // $STATE_DIRECTORY is jobqd's (systemd's StateDirectory=); another service's is not where jobq enqueues.
        #expect(Self.resolve(["STATE_DIRECTORY": "/var/lib/jobq:/other"], for: .daemon) == "/var/lib/jobq/jobq.db")
        #expect(
            Self.resolve(["STATE_DIRECTORY": "/var/lib/app", "HOME": "/h"], for: .client)
                == "/h/.local/state/jobq/jobq.db")
        #expect(Self.resolve([:], existing: "/var/lib/jobq/jobq.db") == "/var/lib/jobq/jobq.db")
        #expect(Self.resolve(["XDG_STATE_HOME": "/s", "HOME": "/h"]) == "/s/jobq/jobq.db")
        #expect(Self.resolve(["HOME": "/h"]) == "/h/.local/state/jobq/jobq.db")
        // Without HOME, the password database's home; without either, no default at all.
        #expect(Self.resolve([:]) == "/pw/.local/state/jobq/jobq.db")
        #expect(Self.resolve(["HOME": ""]) == "/pw/.local/state/jobq/jobq.db")
        #expect(Self.resolve([:], home: nil) == DatabaseLocation.Problem.noHome.description)
        #expect(Self.resolve(["XDG_STATE_HOME": "/s"], home: nil) == "/s/jobq/jobq.db")
    }

    @Test func aVariableThatIsNotUTF8StopsTheSearchWhereItWouldBeRead() {
        let jobqDB = DatabaseLocation.Problem.notUTF8(variable: "JOBQ_DB").description
        #expect(jobqDB.hasPrefix("$JOBQ_DB is not valid UTF-8"))
        #expect(Self.resolve(["HOME": "/h"], notUTF8: ["JOBQ_DB"]) == jobqDB)
        #expect(Self.resolve(["HOME": "/h"], notUTF8: ["XDG_STATE_HOME"]).hasPrefix("$XDG_STATE_HOME is not"))
        #expect(Self.resolve([:], notUTF8: ["HOME"]).hasPrefix("$HOME is not"))
        #expect(Self.resolve([:], notUTF8: ["STATE_DIRECTORY"], for: .daemon).hasPrefix("$STATE_DIRECTORY is not"))
        // Variables read after the one that names the database do not matter.
        #expect(Self.resolve(["JOBQ_DB": "/y.db"], notUTF8: ["XDG_STATE_HOME", "HOME"]) == "/y.db")
        #expect(Self.resolve(["XDG_STATE_HOME": "/s"], notUTF8: ["HOME", "STATE_DIRECTORY"]) == "/s/jobq/jobq.db")
        #expect(
            Self.resolve([:], notUTF8: ["HOME"], existing: DatabaseLocation.systemPath) == DatabaseLocation.systemPath)
    }
}
