import JobqCore
import JobqStore

/// What one `jobq add` asks for — the job (or the defaults of every `--batch` line), where batch
/// lines come from, the output form and the database — whichever way its words were read: by
/// `Add`'s options, or, for a plain `jobq add WORD…`, by `init?(plainArguments:)`.
struct AddInvocation: Equatable {
    /// The job, or with `batch` the defaults of every line.
    var job: JobSpec
    /// `--batch`: the file of JSON lines, `-` for stdin.
    var batch: String?
    /// `--json`.
    var json: Bool
    /// `--db` given after `add`; `nil` falls back to a leading `--db`, then to the default.
    var database: String?

    /// Enqueues the job or the batch in one durable transaction and prints the new ids.
    /// Everything is parsed and checked before the database is opened.
    /// - Parameter now: the instant `job` was read at (`--delay` counts from it).
    func run(now: Timestamp, environment: [String: String]) throws {
        let currentDirectory = FileSystem.currentDirectory()
        var lines: [Int?] = []
        var requests: [JobRequest] = []
        if let batch {
            let input = try BatchInput.read(batch)
            let specs = try BatchParser.parse(input, defaults: job, now: now)
            lines.reserveCapacity(specs.count)
            requests.reserveCapacity(specs.count)
            for (line, spec) in specs {
                do throws(CLIError) {
                    requests.append(try spec.request(now: now, currentDirectory: currentDirectory))
                } catch {
                    throw error.prefixed("line \(line): ")
                }
                lines.append(line)
            }
        } else {
            requests = [try job.request(now: now, currentDirectory: currentDirectory)]
            lines = [nil]
        }
        let database = try Database(explicit: self.database, environment: environment)
        // No database yet means no job for --after to name: fail without creating one.
        if let dependency = requests.lazy.flatMap(\.dependencies).first, !FileSystem.exists(database.path) {
            throw Self.dependencyFailure(dependency, requests: requests, lines: lines, database: database)
        }
        let store = try database.openCreating()
        let jobs: [Job]
        do {
            jobs = try store.assumeIsolated { store in try store.enqueue(requests, now: now) }
        } catch StoreError.dependencyNotFound(let id) {
            throw Self.dependencyFailure(id, requests: requests, lines: lines, database: database)
        } catch {
            throw database.failure(error)
        }
        OutputStream.standardOutput.write(render(jobs))
        // Enqueued after a dependency that failed or was cancelled: it will never run, say so.
        for job in jobs where job.state == .cancelled {
            let reason = (job.error ?? "a dependency did not succeed").displaySafe
            OutputStream.standardError.write("jobq: job \(job.id) was cancelled at once: \(reason)\n")
        }
        let waiting = jobs.count { $0.state == .pending }
        if waiting > 0, DaemonNote.isDue(for: database) {
            DaemonNote.write(
                for: database, waiting == 1 ? "the job waits until one starts" : "the jobs wait until one starts")
        }
        // Exit 1 all the same (the result was lost), but a script must not take it for a failed
        // enqueue and add the job again.
        if case .error(let reason) = OutputStream.standardOutputFailure {
            let enqueued = jobs.count == 1 ? "job \(jobs[0].id) was enqueued" : "\(jobs.count) jobs were enqueued"
            throw CLIError.failed("\(enqueued), but the output cannot be written: \(reason)")
        }
    }

    private func render(_ jobs: [Job]) -> [UInt8] {
        if json {
            let objects = jobs.map { job in
                JSONValue.object([
                    JSONMember("id", .integer(job.id)), JSONMember("queue", .string(job.queue)),
                    JSONMember("state", .string(job.state.rawValue)),
                ])
            }
            var output = (batch == nil ? objects[0] : .object([JSONMember("jobs", .array(objects))])).serialized()
            output.append(UInt8(ascii: "\n"))
            return output
        }
        var output: [UInt8] = []
        output.reserveCapacity(jobs.count * 8)
        for job in jobs {
            output.append(contentsOf: String(job.id).utf8)
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }

    /// `--after` named a job that does not exist: say which, and which batch line.
    private static func dependencyFailure(
        _ id: JobID, requests: [JobRequest], lines: [Int?], database: Database
    ) -> CLIError {
        let reason = "no job \(id) in \(database.path) (named by --after); nothing was enqueued"
        if let index = requests.firstIndex(where: { $0.dependencies.contains(id) }), let line = lines[index] {
            return .failed("line \(line): " + reason)
        }
        return .failed(reason)
    }
}

extension AddInvocation {
    /// The invocation of `jobq add WORD…` or `jobq add -- WORD…` — no option of add, the call
    /// scripts make in loops — or `nil` for any other argument list. Such a call means what `Add`
    /// with every option at its default means (the unit tests hold the two to that), so it needs
    /// no argument parser, whose start-up (reflection over `Add`'s options, type metadata,
    /// protocol-conformance scans) would be a third of the call's time.
    init?(plainArguments arguments: [String]) {
        guard arguments.first == "add", let first = arguments.dropFirst().first else { return nil }
        var words = arguments.dropFirst()
        if first == "--" {
            words = words.dropFirst()
            guard !words.isEmpty else { return nil }
        } else if first.hasPrefix("-") {
            return nil
        }
        // `GlobalOptions.validate` refuses an empty leading `--db` with the usage message.
        if GlobalOptions.leadingDatabase?.isEmpty == true { return nil }
        self.init(job: JobSpec(command: .argv(Array(words))), batch: nil, json: false, database: nil)
    }
}
