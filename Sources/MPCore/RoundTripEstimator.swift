/// A smoothed round-trip time with its variance, as TCP keeps it (RFC 6298 section 2):
/// the first sample sets SRTT = R and RTTVAR = R/2; each later one sets
/// RTTVAR = 3/4 RTTVAR + 1/4 |SRTT − R|, then SRTT = 7/8 SRTT + 1/8 R.
///
/// The zero value has no sample. Integer nanoseconds, no clock: callers pass samples.
public struct RoundTripEstimator: Hashable, Sendable {
    /// The smoothed round-trip time; `nil` before the first sample.
    public private(set) var smoothed: TimeSpan?
    /// The round-trip time's mean deviation; zero before the first sample.
    public private(set) var variation = TimeSpan(nanoseconds: 0)
    /// The most recent sample; `nil` before the first.
    public private(set) var latest: TimeSpan?

    /// No sample yet.
    public init() {}

    /// Folds in one measured round trip.
    public mutating func add(_ sample: TimeSpan) {
        latest = sample
        guard let current = smoothed else {
            smoothed = sample
            variation = TimeSpan(nanoseconds: sample.nanoseconds / 2)
            return
        }
        let deviation =
            current > sample ? current.nanoseconds - sample.nanoseconds : sample.nanoseconds - current.nanoseconds
        // RFC 6298's gains, alpha = 1/8 and beta = 1/4, as shifts on integers.
        variation = TimeSpan(nanoseconds: variation.nanoseconds - variation.nanoseconds / 4 + deviation / 4)
        smoothed = TimeSpan(nanoseconds: current.nanoseconds - current.nanoseconds / 8 + sample.nanoseconds / 8)
    }

    /// SRTT + 4 RTTVAR, RFC 6298's retransmission timeout without its 1 s floor (callers
    /// apply their own); `nil` before the first sample.
    public var timeout: TimeSpan? {
        smoothed.map { TimeSpan(nanoseconds: $0.nanoseconds &+ 4 &* variation.nanoseconds) }
    }
}
