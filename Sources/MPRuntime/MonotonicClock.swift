// The one place the daemons read the clock. Every timestamp that reaches MPCore (`now:`)
// comes from here, so the core stays a pure function of its inputs.
import Glibc
import MPCore

/// The system's monotonic clock (`CLOCK_MONOTONIC`): it never jumps when the wall clock is
/// set, so timeouts and round-trip times stay correct across NTP steps.
public enum MonotonicClock {
    /// Nanoseconds per second, for converting `timespec`.
    private static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    /// The current time. Its origin is arbitrary (usually boot); only differences mean anything.
    public static func now() -> Timestamp {
        var time = timespec()
        // CLOCK_MONOTONIC cannot fail with a valid clock id and pointer.
        _ = clock_gettime(CLOCK_MONOTONIC, &time)
        return Timestamp(nanoseconds: UInt64(time.tv_sec) &* nanosecondsPerSecond &+ UInt64(time.tv_nsec))
    }

    /// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`): what a piece of
    /// work cost the loop's thread itself, apart from time other processes took the CPU.
    public static func threadCPUTime() -> TimeSpan {
        var time = timespec()
        _ = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return TimeSpan(nanoseconds: UInt64(time.tv_sec) &* nanosecondsPerSecond &+ UInt64(time.tv_nsec))
    }
}
