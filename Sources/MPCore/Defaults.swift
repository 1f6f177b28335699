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
    /// How often each side sends a receiver report (``PathReport``) while frames of the
    /// session arrive: four times a probe interval, so that a lossy path that delivers is
    /// heard from several times before its probes could take it down (H4).
    public static let reportInterval = TimeSpan.milliseconds(250)
    /// Balance mode: a receiver report on one path every 50 ms between those on every path,
    /// so that the sender's capacity estimates (``PathLoad``) follow a link that slows down
    /// within a few tens of milliseconds; 20 small frames a second, on the path where they
    /// arrive first. Every ``feedbackShortInterval`` instead while ``feedbackFrames`` or
    /// more frames arrived since the last one (``isFeedbackDue(after:frames:)``).
    public static let feedbackInterval = TimeSpan.milliseconds(50)
    /// A report every 20 ms while frames arrive fast: the sender learns of a fast path's
    /// queue within 20 ms plus its delay, before a TCP slow start that the path takes alone
    /// overflows it; the cubic stream then spills onto the other paths instead of stalling
    /// near the first one's rate (test bed, 20 + 10 + 2 Mbit/s lines, cubic down: 23.0-28.6
    /// Mbit/s, under 25 in 4 runs of 22, at 50 ms; 27.1-28.6 in 8 runs). Only then: a report
    /// takes a payload's slot on a link that counts datagrams, and 50 a second beside a
    /// 200/s line reordered a third of the payloads (simulated 600 + 200/s).
    public static let feedbackShortInterval = TimeSpan.milliseconds(20)
    /// 32 frames: at most one report per 32 frames received, 3% more frames.
    public static let feedbackFrames = 32

    /// Whether a balance-mode receiver report is due `elapsed` after the last one, with
    /// `frames` frames received since (``feedbackInterval``, ``feedbackShortInterval``).
    public static func isFeedbackDue(after elapsed: TimeSpan, frames: Int) -> Bool {
        guard frames > 0 else { return false }
        return elapsed >= feedbackInterval || (elapsed >= feedbackShortInterval && frames >= feedbackFrames)
    }
    /// Frames of unknown sessions (with a key: whose session id passed its check) that
    /// mpserver opens per second, for at most this many new sessions a second: each costs a
    /// key derivation and an AEAD open (about 15 µs), so a flood costs at most 3% of a core
    /// while the sessions it knows keep the rest. 2,000: 4,096 mpclients back within 3 s
    /// of an mpserver restart.
    public static let newSessionAttemptsPerSecond = 2_000
    /// A session heard from within this long is live and never evicted for a new one: a
    /// live mpclient probes every path every second, so 3 s of silence means every path lost
    /// three probes. With the table full of live sessions, new ones are refused.
    public static let sessionEvictableAfter = TimeSpan.seconds(3)
    /// Flows one session carries (per mpclient, and per session at mpserver): each flow is
    /// one socket at mpserver, so this bounds file descriptors per session.
    public static let maximumFlowsPerSession = 256
    /// A flow that has carried this many datagrams each way is established: a new address
    /// never displaces it (a VPN's handshake alone is two or more each way; a stray datagram
    /// from a port scan is one).
    public static let flowEstablishedAfter = 4
    /// A flow not established and idle this long may give its place to a new address when
    /// the table is full; an active one never does. Half a second: a burst of strays frees
    /// its places within a second of stopping, and an application sending even 2 datagrams
    /// a second keeps its own.
    public static let flowDisplaceableAfter = TimeSpan.milliseconds(500)
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
    /// A probe not echoed within this long (or RFC 6298's SRTT + 4 RTTVAR, when larger)
    /// counts as lost: one probe interval, far above any terrestrial round trip.
    public static let probeTimeout = TimeSpan.seconds(1)
    /// Probes over which a path's loss is measured: 16 s at one probe a second, long enough
    /// for a percentage, short enough to follow a link that degrades.
    public static let probeLossWindow = 16
    /// Lost probes in a row that take a path down: one or two lost echoes are noise on a
    /// busy link, three (3 s) are an outage. A path also goes down after 2.5 probe intervals
    /// with no authentic frame at all, which with traffic flowing is usually sooner.
    public static let pathDownAfterLostProbes = 3
    /// Echoes in a row that bring a down path back up: one echo may be a fluke of a flapping
    /// link; two (about 1 s apart) show it carries traffic again, within 2 s of its return.
    public static let pathUpAfterEchoes = 2
    /// mpserver infers the client's mode from the upstream data of the last one or two of
    /// these epochs (copies per payload, and which paths carried data).
    public static let mirrorEpoch = TimeSpan.seconds(1)
    /// A data path (R21) that carried neither upstream data nor a receiver report for this
    /// long, while another data path did, leaves the data paths at once: mpclient stopped
    /// sending on it (its relay died, it handed over to a backup). Four report intervals, so
    /// a live path that carries only reports (a download in balance mode) stays even if a
    /// few in a row are lost; shorter than mpclient's 1.5 s hand-over to a backup, so the
    /// replies follow the backup as soon as it carries the data.
    public static let mirrorStaleAfter = TimeSpan.seconds(1)
    /// A down path with no authentic frame for this many probe intervals (10 s by default)
    /// gets a new socket, and its host name is looked up again; again after as many more
    /// while it stays silent. Ten missed probes: long past a flapping link's outage, and a
    /// new source port escapes a stale NAT or bridge mapping (often 30 s or more).
    public static let pathReopenAfterProbes = 10
    /// The reorder buffer holds at most this many payloads; past it the oldest goes out at
    /// once: 1,024 is 100 ms at 10,000 packets/s.
    public static let maximumReorderPayloads = 1_024
    /// `fastest-copies` is at most 4: past 2 a lossy fast path is better left to the others.
    public static let maximumFastestCopies = 4
    /// `fastest-copies auto` sends a second copy on the fastest path while it loses at least
    /// 1% of its frames either way: from there a datagram that comes late from a slower path
    /// (which TCP inside the VPN takes for a loss) is more than one in a hundred. A clean
    /// path costs nothing more.
    public static let fastestCopiesLossThreshold = 0.01
    /// `fastest-copies auto` keeps the second copy this long after the loss was last at the
    /// threshold: a loss figure comes from windows of 500 frames, 10 s at a ping's rate, and
    /// one window can read low when the rate falls.
    public static let fastestCopiesHold = TimeSpan.seconds(30)
    /// While the application sends and nothing authentic has come back on any path for this
    /// long (mpserver restarted, or every path broke; in normal traffic mpserver's reports
    /// come every 250 ms), mpclient probes every path every ``silentProbeInterval``.
    public static let silenceBeforeFastProbes = TimeSpan.milliseconds(500)
    /// R18b: a path's replies move to a new address only after its fresh probes from there
    /// span this long (900 ms: a probe interval, less jitter). mpclient probes every 100 ms
    /// at times (below), and a sender that races copies of a path's probes must not win the
    /// path because the real copies lag by more than 100 ms on a busy machine.
    public static let addressMoveSpan = TimeSpan.milliseconds(900)
    /// The probe interval of a silent session that sends (the daemon's tick).
    public static let silentProbeInterval = TimeSpan.milliseconds(100)
    /// A silent session probes fast for at most this long after the application's last
    /// payload: an outage of hours costs 10 probes a second per path only at its start.
    public static let fastProbesAfterPayload = TimeSpan.seconds(30)
    /// `reorder-window auto`: a path that delivered no payload for this long is not waited
    /// for, nor its lag counted (it went down). Long enough that a pause in the traffic of a
    /// few seconds keeps the measured lags: the first gaps of the next burst come before
    /// the slower paths have delivered again.
    public static let reorderLiveSpan = TimeSpan.seconds(5)
    /// `reorder-window auto`: added to the slowest live path's smoothed lag (the drain timer
    /// fires about a millisecond late, and a copy just behind its average must still count).
    public static let reorderHoldMargin = TimeSpan.milliseconds(1)
    /// `reorder-window auto` holds at most this long: a path more than 50 ms behind the
    /// fastest fills gaps too late for the TCP inside (its loss detection waits a quarter
    /// of a round trip), and every gap it is waited for costs the application that long.
    public static let maximumAutoReorderHold = TimeSpan.milliseconds(50)
    /// First arrivals kept for lag samples, one per eight sequence numbers: 2,048 sequence
    /// numbers, 140 ms at 14,000 payloads/s (a 150 Mbit/s TCP stream).
    public static let reorderLagSamples = 256
    /// The largest `reorder-window` and `probe-interval` a config may set (60 s): larger
    /// values are typing errors (a probe interval beyond NAT timeouts loses the mapping).
    public static let maximumConfigMilliseconds = 60_000
    /// Connections the metrics endpoint, and apart from it the control socket, serve at once;
    /// one past this is closed unanswered. A scraper and a person at `--status` need one or
    /// two; eight leave room for retries, and bound what slow local peers can make a daemon hold.
    public static let maximumControlConnections = 8
    /// A control connection is closed this long after it was accepted, whatever it is doing
    /// (a deadline, not an idle timeout: trickling bytes never extends it). A scrape on
    /// loopback takes milliseconds.
    public static let controlConnectionLifetime = TimeSpan.seconds(5)
    /// The longest metrics request read (8 KB, the usual web server header limit: a scraper
    /// sends about 200 bytes); a longer one is answered 431 and closed.
    public static let maximumMetricsRequestSize = 8_192
    /// A metrics request still incomplete once its connection ran dry is being trickled
    /// (scrapers send theirs in one piece): it is read from then on at most every 10 ms,
    /// ``metricsTrickleReadSize`` bytes at a time, so a peer that sends a byte per segment
    /// costs mpserver 100 small reads a second per connection instead of one per byte.
    public static let metricsReadPause = TimeSpan.milliseconds(10)
    /// Bytes read at a time from a trickled metrics request: 16 every 10 ms is 1.6 KB/s, so
    /// 8 connections feed mpserver at most 12.8 KB/s of one-byte segments (the kernel spends
    /// about 2 µs of the reader's time on each), and a request split by a tunnel still
    /// completes within the connection's 5 s.
    public static let metricsTrickleReadSize = 16
    /// Sessions mpserver lists one by one on its metrics page, `--status` and SIGUSR1: the 64
    /// with the most traffic; totals cover every session. A page for all 4,096 sessions and
    /// 32 paths was 55 MB and held the loop for 1.8 s; the few sessions a person reads fit in 64.
    public static let maximumReportedSessions = 64
    /// Samples on one metrics page at most (per-path samples of the listed sessions are left
    /// out past it, and the page says how many): about 250 KB, rendered in about a
    /// millisecond, well under what Prometheus ingests from one target.
    public static let maximumSeriesPerScrape = 2_048
    /// Where mpclient's control socket is, for `mpclient --status`.
    public static let clientStatusSocket = "/run/mptunnel/mpclient.sock"
    /// Where mpserver's control socket is, for `mpserver --status`.
    public static let serverStatusSocket = "/run/mptunnel/mpserver.sock"
}
