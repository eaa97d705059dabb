import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a temporary directory could not be made.
public struct TemporaryDirectoryError: Error, CustomStringConvertible {
    /// The `errno` of the failed `mkdtemp`.
    public var code: Int32
    public var description: String { "cannot create a temporary directory: \(String(cString: strerror(code)))" }
}

/// A new, empty, private directory, removed with everything in it when the value is released:
/// for a suite (a stored property) or a test that keeps it in a local.
public final class TemporaryDirectory: Sendable {
    public let path: String

    /// Makes the directory; traps if it cannot, since no test can go on without it.
    public init() {
        do {
            path = try Self.make()
        } catch {
            fatalError("\(error)")
        }
    }

    deinit {
        Self.remove(path)
    }

    /// The path of `name` in the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Makes a new directory under `$TMPDIR` (default /tmp).
    static func make() throws(TemporaryDirectoryError) -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/jobq-test-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw TemporaryDirectoryError(code: errno) }
        return String(cString: created)
    }

    /// Removes `path` and everything in it, read-only subdirectories (from permission tests) included.
    static func remove(_ path: String) {
        if let enumerator = FileManager.default.enumerator(atPath: path) {
            for case let relative as String in enumerator {
                chmod(path + "/" + relative, 0o700)
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a new, empty, private directory, and removes it (with everything in it)
/// afterwards, whether `body` returns or throws.
public func withTemporaryDirectory<Result>(
    _ body: (String) async throws -> Result
) async throws -> Result {
    let path = try TemporaryDirectory.make()
    defer { TemporaryDirectory.remove(path) }
    return try await body(path)
}
