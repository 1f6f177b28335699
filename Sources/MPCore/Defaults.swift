/// Every default and limit of mptunnel, in one place. The README and the protocol document
/// quote these values; a test checks that they agree.
public enum Defaults {
    /// Where mpclient listens when the config has no `listen` line: loopback only, because
    /// the application runs on the same host (the original bound every interface).
    public static let listenHost = "127.0.0.1"
    /// The port the original mptunnel documented.
    public static let listenPort: UInt16 = 3000
    /// Paths per mpclient: the path id is one byte on the wire, and 32 routes is already far
    /// more than any gateway has links.
    public static let maximumPaths = 32
    /// Largest payload carried: the largest IPv4 UDP payload (65,507 bytes) less the frame
    /// overhead, so that every frame fits one datagram on every path. Never split.
    public static let maximumPayload = 65_507 - FrameLayout.maximumOverhead
    /// Probe and keepalive interval per path: keeps NAT and bridge mappings (often 30 s)
    /// alive and lets a restarted mpserver be noticed within about a second.
    public static let probeInterval = TimeSpan.seconds(1)
    /// A session with no authentic frame for this long is forgotten by mpserver (3 minutes,
    /// like WireGuard's reject-after time: longer than any keepalive a VPN sends).
    public static let sessionIdleTimeout = TimeSpan.seconds(180)
    /// A flow (one application address) idle this long is forgotten and its target socket
    /// closed; the same as a session, since a VPN flow is as long-lived as the session.
    public static let flowIdleTimeout = TimeSpan.seconds(180)
    /// Sessions one mpserver keeps; past this the session idle the longest is dropped first.
    /// 4,096 sessions cost about 4 MB (mostly the 2 KB dedup window each).
    public static let maximumSessions = 4_096
    /// Flows one session carries (per mpclient, and per session at mpserver): each flow is
    /// one socket at mpserver, so this bounds file descriptors per session.
    public static let maximumFlowsPerSession = 256
    /// Flows across all sessions at mpserver: one file descriptor each, below the usual
    /// 65,536 descriptor limit with room for the rest.
    public static let maximumFlows = 16_384
    /// Payloads mpclient holds while it waits for mpserver to accept a new session (at start,
    /// and after mpserver restarted); older ones are dropped past this. About 1 s at 256 pps.
    public static let maximumPendingPayloads = 256
    /// How long held payloads wait for mpserver's acceptance before they are dropped.
    public static let pendingPayloadLifetime = TimeSpan.seconds(2)
    /// Minimum gap between two acceptances mpserver sends for one session: bounds what a
    /// replayed or stale frame can make the server send.
    public static let acceptanceInterval = TimeSpan.milliseconds(100)
    /// mpclient warns when no path has had an authentic frame for this long while it sends:
    /// five missed probe echoes (one a second), so one lost echo or a slow path never warns.
    public static let replySilenceWarning = TimeSpan.seconds(5)
    /// Minimum gap between two repeats of one warning in the logs.
    public static let warningInterval = TimeSpan.seconds(10)
}
