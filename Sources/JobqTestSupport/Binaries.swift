import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Finds the freshly built executables (`jobq`, `jobqd`) that end-to-end tests run.
public enum Binaries {
    /// Why an executable is missing.
    public struct NotFound: Error, CustomStringConvertible {
        /// The path that was looked at.
        public var path: String
        public var description: String {
            "\(path) does not exist: build the products first (swift build), or set JOBQ_BIN_DIR"
        }
    }

    /// `$JOBQ_BIN_DIR` if set, else the directory of the running test executable: SwiftPM
    /// puts the test bundle beside the products (`.build/debug`).
    public static var directory: String {
        if let explicit = ProcessInfo.processInfo.environment["JOBQ_BIN_DIR"], !explicit.isEmpty { return explicit }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return FileManager.default.currentDirectoryPath }
        let executable = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)])
        // On Linux the test executable may sit inside a `.xctest` bundle directory.
        if directory.hasSuffix(".xctest") {
            directory = String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)])
        }
        return directory
    }

    /// The path of the executable `name` in `directory`, checked to exist.
    public static func path(of name: String) throws -> String {
        let path = directory + "/" + name
        guard access(path, X_OK) == 0 else { throw NotFound(path: path) }
        return path
    }
}
