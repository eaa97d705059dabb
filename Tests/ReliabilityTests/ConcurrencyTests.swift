import Foundation
import JobqReliability
import JobqTestSupport
import Testing

@Suite("concurrent clients")
struct ConcurrencyTests {
    @Test("12 processes × 40 jobq add while jobqd runs and a reader loops sqlite3 queries: 480 jobs, none lost")
    func manyWriters() async throws {
        try await withWorkspace { workspace in
            let output = workspace.directory + "/ran.txt"
            let stopReading = workspace.directory + "/stop-reading"
            let readerLog = workspace.directory + "/reader.log"
            let (_, exit) = try await withDaemon(database: workspace.database, directory: workspace.directory) { _ in
                #expect(try await workspace.jobq(["queue", "set", "conc", "--concurrency", "4"]).exitStatus == 0)
                // The reader sets a busy timeout, as every SQLite client of a WAL database should:
                // opening a connection can meet another connection's brief lock (docs/reliability.md).
                let reader = try ChildProcess.launch(
                    "/bin/sh",
                    [
                        "-c",
                        """
                        n=0; while [ ! -e '\(stopReading)' ]; do
                          sqlite3 -cmd '.timeout 5000' '\(workspace.database)' \
                            'SELECT count(*) FROM jobs; SELECT * FROM queue_stats;' >/dev/null 2>>'\(readerLog)' \
                            || echo "query $n failed" >> '\(readerLog)'
                          n=$((n+1))
                        done; echo "$n"
                        """,
                    ])
                let writers = try (0..<12).map { _ in
                    try ChildProcess.launch(
                        "/bin/sh",
                        [
                            "-c",
                            """
                            i=0; while [ $i -lt 40 ]; do
                              "$0" --db '\(workspace.database)' add --queue conc --shell 'echo $JOBQ_JOB_ID >> \(output)' \
                                || exit 1
                              i=$((i+1))
                            done
                            """,
                            Workspace.jobq,
                        ],
                        environment: Workspace.environment)
                }
                var ids: [Int] = []
                for writer in writers {
                    let result = try await writer.waitForExit(timeout: .seconds(600))
                    #expect(result.exitStatus == 0, "\(result)")
                    ids += result.stdoutText.split(separator: "\n").compactMap { Int($0) }
                }
                #expect(ids.count == 480 && Set(ids).count == 480)

                let store = try await workspace.store()
                try await workspace.waitUntilAllEnded(store, timeout: .seconds(120))
                #expect(FileManager.default.createFile(atPath: stopReading, contents: nil))
                let reads = try await reader.waitForExit(timeout: .seconds(60))
                #expect((Int(reads.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "\(reads)")
                let readerErrors = (try? String(contentsOfFile: readerLog, encoding: .utf8)) ?? ""
                #expect(readerErrors.isEmpty, "\(readerErrors)")

                let jobs = try await store.jobs(queue: "conc")
                #expect(jobs.count == 480 && jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
                #expect(
                    workspace.appearances(in: output) == Dictionary(uniqueKeysWithValues: ids.map { (Int64($0), 1) }))
            }
            #expect(exit.exitStatus == 0, "\(exit)")
        }
    }
}
