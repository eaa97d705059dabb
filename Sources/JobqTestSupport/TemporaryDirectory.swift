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

/// Runs `body` with a new, empty, private directory, and removes it (with everything in it)
/// afterwards, whether `body` returns or throws.
public func withTemporaryDirectory<Result>(
    _ body: (String) async throws -> Result
) async throws -> Result {
    let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    var template = Array((base + "/jobq-test-XXXXXX").utf8CString)
    guard let created = mkdtemp(&template) else { throw TemporaryDirectoryError(code: errno) }
    let path = String(cString: created)
    defer {
        // Make read-only subdirectories (from permission tests) removable first.
        if let enumerator = FileManager.default.enumerator(atPath: path) {
            for case let relative as String in enumerator {
                chmod(path + "/" + relative, 0o700)
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
    return try await body(path)
}
