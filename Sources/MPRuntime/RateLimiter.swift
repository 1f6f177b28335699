// Keeps repeated warnings (a path refusing sends, frames of another protocol version) from
// flooding the log: one line per interval, and that line says how many were held back.
import MPCore

/// Allows one event per interval and counts the ones it refuses.
///
/// The first call is allowed. After ``allow(now:)`` returns true, ``suppressed`` is the
/// number of calls refused since the previous allowed one, for a line such as
/// "send failed (12 more)". A plain value; not safe for concurrent use.
public struct RateLimiter: Sendable {
    /// The shortest time between two allowed events.
    public let interval: TimeSpan
    /// Calls refused between the previous two allowed calls; valid right after
    /// ``allow(now:)`` returns true.
    public private(set) var suppressed = 0
    private var refusedSinceAllowed = 0
    private var lastAllowed: Timestamp?

    /// Creates a limiter that allows one event per `interval`.
    public init(interval: TimeSpan) {
        self.interval = interval
    }

    /// Whether an event at `now` may be logged: true when none was allowed in the last
    /// `interval`. `now` comes from the monotonic clock and never goes backwards.
    public mutating func allow(now: Timestamp) -> Bool {
        if let lastAllowed, now - lastAllowed < interval {
            refusedSinceAllowed += 1
            return false
        }
        lastAllowed = now
        suppressed = refusedSinceAllowed
        refusedSinceAllowed = 0
        return true
    }
}
