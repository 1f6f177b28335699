/// A point on a monotonic clock, in nanoseconds since an arbitrary origin.
///
/// MPCore never reads a clock: the runtime reads it in one place and passes `now:` into every
/// method that depends on time, so tests move time forward by passing a later value.
/// The zero value is the clock's origin.
public struct Timestamp: Comparable, Hashable, Sendable {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: UInt64

    /// Creates a timestamp `nanoseconds` after the clock's origin.
    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// The timestamp `span` later; saturates instead of overflowing.
    public static func + (lhs: Timestamp, rhs: TimeSpan) -> Timestamp {
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.nanoseconds)
        return Timestamp(nanoseconds: overflow ? .max : sum)
    }

    /// The span from `rhs` to `lhs`; zero when `rhs` is later (the clock is monotonic, so
    /// that only happens when a caller mixes up its arguments).
    public static func - (lhs: Timestamp, rhs: Timestamp) -> TimeSpan {
        TimeSpan(nanoseconds: lhs.nanoseconds >= rhs.nanoseconds ? lhs.nanoseconds - rhs.nanoseconds : 0)
    }
}

/// A non-negative length of time in nanoseconds.
public struct TimeSpan: Comparable, Hashable, Sendable {
    /// The length in nanoseconds.
    public var nanoseconds: UInt64

    /// Creates a span of `nanoseconds`.
    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// A span of whole milliseconds.
    public static func milliseconds(_ value: UInt64) -> TimeSpan {
        TimeSpan(nanoseconds: value &* 1_000_000)
    }

    /// A span of whole seconds.
    public static func seconds(_ value: UInt64) -> TimeSpan {
        TimeSpan(nanoseconds: value &* 1_000_000_000)
    }

    /// The span in (fractional) seconds, for timers and logs.
    public var seconds: Double {
        Double(nanoseconds) / 1e9
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }
}

extension TimeSpan {
    /// A span of `seconds` (fractional; negative or not finite is zero, too large saturates).
    public init(seconds: Double) {
        let nanoseconds = seconds * 1e9
        guard nanoseconds.isFinite, nanoseconds > 0 else {
            self.init(nanoseconds: 0)
            return
        }
        self.init(nanoseconds: nanoseconds >= 1.8e19 ? .max : UInt64(nanoseconds))
    }

    /// The sum; saturates instead of overflowing.
    public static func + (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan {
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.nanoseconds)
        return TimeSpan(nanoseconds: overflow ? .max : sum)
    }

    /// The difference; zero when `rhs` is longer.
    public static func - (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan {
        TimeSpan(nanoseconds: lhs.nanoseconds >= rhs.nanoseconds ? lhs.nanoseconds - rhs.nanoseconds : 0)
    }
}
