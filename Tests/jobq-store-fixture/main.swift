// A helper process for JobqStoreTests: the multi-process and crash tests run it as a separate
// client of the same database.
//
//   jobq-store-fixture enqueue DB QUEUE COUNT BATCH TAG
//       enqueues COUNT jobs (argv ["true", "TAG-<i>"]) in batches of BATCH, then exits 0.
//   jobq-store-fixture hang-mid-batch DB COUNT STOP_AT MARKER
//       starts one batch of COUNT large jobs; before the STOP_AT-th insert it creates the file
//       MARKER and blocks forever inside the open transaction, waiting to be SIGKILLed.
//   jobq-store-fixture hold-lock DB MARKER
//       takes the daemon lock, creates MARKER and waits forever, to be SIGKILLed.
import JobqCore
import JobqSQLite
import JobqStore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

func fail(_ message: String) -> Never {
    let line = Array("jobq-store-fixture: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: enqueue|hang-mid-batch …") }

switch arguments[1] {
case "enqueue":
    guard arguments.count == 7, let count = Int(arguments[4]), let batch = Int(arguments[5]) else {
        fail("usage: enqueue DB QUEUE COUNT BATCH TAG")
    }
    let store = try await JobStore(path: arguments[2], busyTimeout: .seconds(30))
    var next = 0
    while next < count {
        let size = min(batch, count - next)
        let requests = (next..<next + size).map { index in
            JobRequest(
                queue: arguments[3], command: .argv(["true", "\(arguments[6])-\(index)"]), workingDirectory: "/")
        }
        _ = try await store.enqueue(requests)
        next += size
    }

case "hang-mid-batch":
    guard arguments.count == 6, let count = Int(arguments[3]), let stopAt = Int(arguments[4]) else {
        fail("usage: hang-mid-batch DB COUNT STOP_AT MARKER")
    }
    let marker = arguments[5]
    let inserts = Counter()
    let faults = SQLiteFaults { point in
        guard case .step(let sql) = point, sql.hasPrefix("INSERT INTO jobs") else { return nil }
        if inserts.increment() == stopAt {
            close(open(marker, O_CREAT | O_WRONLY, 0o600))
            while true { pause() }
        }
        return nil
    }
    let store = try await JobStore(path: arguments[2], faults: faults)
    // Large rows (80 MB before the stop), so the batch overflows the 64 MiB page cache and reaches
    // the WAL before the kill.
    let padding = String(repeating: "x", count: 20_000)
    let requests = (0..<count).map { index in
        JobRequest(command: .argv(["true", "hang-\(index)", padding]), workingDirectory: "/")
    }
    _ = try await store.enqueue(requests)
    fail("the batch was not supposed to commit")

case "hold-lock":
    guard arguments.count == 4 else { fail("usage: hold-lock DB MARKER") }
    let lock = try DaemonLock.acquire(databasePath: arguments[2])
    close(open(arguments[3], O_CREAT | O_WRONLY, 0o600))
    while true { pause() }
    withExtendedLifetime(lock) {}

default:
    fail("unknown command \(arguments[1])")
}

/// Counts calls from the store's thread.
final class Counter: Sendable {
    private let value = Mutex(0)

    func increment() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}
