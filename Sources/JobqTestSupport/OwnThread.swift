import Foundation

/// Runs `body` on a thread of its own and waits for it without holding a thread of the
/// cooperative pool: for long CPU-bound test loops (fuzzing) that would otherwise keep the
/// pool's few threads (one per core) busy for seconds and starve every other test in the
/// process. `body` runs outside the test's task, so it returns what it found and the caller
/// records the expectations.
public func runOnOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
