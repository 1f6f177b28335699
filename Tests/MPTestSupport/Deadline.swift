// Bounded waiting for tests: every wait has a deadline, so a test that goes wrong fails
// after a few seconds instead of hanging the suite.
import Glibc

/// A point in time after which a test stops waiting.
public struct Deadline: Sendable {
    /// When the wait ends.
    public let end: ContinuousClock.Instant

    /// A deadline `timeout` from now.
    public init(timeout: Duration) {
        end = ContinuousClock.now.advanced(by: timeout)
    }

    /// Whether the deadline is behind us.
    public var hasPassed: Bool {
        ContinuousClock.now >= end
    }

    /// Time left before the deadline; zero once it has passed.
    public var remaining: Duration {
        let left = ContinuousClock.now.duration(to: end)
        return left > .zero ? left : .zero
    }
}

/// Evaluates `condition` every `poll` until it is true or `timeout` has passed; returns the
/// last result (false means the deadline passed). Blocks the calling thread while it waits.
@discardableResult
public func waitUntil(
    timeout: Duration = .seconds(2), poll: Duration = .milliseconds(10), condition: () throws -> Bool
) rethrows -> Bool {
    let deadline = Deadline(timeout: timeout)
    while true {
        if try condition() { return true }
        if deadline.hasPassed { return false }
        sleep(for: min(poll, deadline.remaining))
    }
}

/// Blocks the calling thread for `duration` (tests may not need an async context to wait).
public func sleep(for duration: Duration) {
    let (seconds, attoseconds) = duration.components
    // 1e9 attoseconds per nanosecond.
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR {
        request = remaining
    }
}
