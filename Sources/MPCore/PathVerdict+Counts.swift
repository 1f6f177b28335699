/// What `mpclient --check` counted on one path: the probes it sent and everything that came
/// back. The runtime fills it in while it probes; ``PathVerdict`` judges it.
///
/// The zero value is a path on which nothing was sent and nothing was heard.
public struct PathCheckCounts: Hashable, Sendable {
    /// Probes the kernel took for sending.
    public var probesSent = 0
    /// Authentic frames from mpserver on the path: probe echoes and acceptances (each answers
    /// one probe; the first probe of a session is answered by an acceptance, not an echo),
    /// including late ones the session drops as duplicates.
    public var answers = 0
    /// Smoothed round-trip time of the probe echoes; `nil` before the first echo.
    public var roundTrip: TimeSpan?
    /// Frames that arrived on the path and that the session dropped, by reason.
    public var drops = DropCounters()
    /// The version byte of the last frame dropped for ``DropReason/unknownVersion``.
    public var foreignVersion: UInt8?
    /// Sends and receives that failed with ECONNREFUSED: an ICMP port unreachable came back,
    /// so nothing listens at the path's address.
    public var refusals = 0
    /// Other failed sends and receives (EPERM from a firewall, ENETUNREACH...).
    public var otherErrors = 0
    /// The text of the last of ``otherErrors``, for the hint.
    public var lastError: String?

    /// Nothing sent, nothing heard.
    public init() {}

    /// Share of the probes sent (0...1) that got no answer; `nil` before any probe was sent.
    public var loss: Double? {
        guard probesSent > 0 else { return nil }
        return 1 - Double(min(answers, probesSent)) / Double(probesSent)
    }
}
