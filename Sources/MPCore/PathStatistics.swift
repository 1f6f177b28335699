/// What one side knows about one path. The zero value is a path never heard from.
public struct PathStatistics: Hashable, Sendable {
    /// Authentic frames received on the path, and duplicates counted without being opened
    /// (receiver rules R7b, R13b: a copy of a sequence number that authenticated).
    public var framesReceived = 0
    /// Bytes of those frames.
    public var bytesReceived = 0
    /// When the last authentic frame (or unopened duplicate) arrived on the path; `nil` if none yet.
    public var lastReceive: Timestamp?
    /// The sequence number of the last fresh authentic frame received on the path (not a
    /// duplicate: an unopened copy's number is a hint), and when it arrived; 0 and `nil`
    /// before one. Receiver reports carry both, so that the sender can date its departure
    /// (``PathLoad``).
    public var lastFreshSequence: UInt64 = 0
    public var lastFreshReceive: Timestamp?
    /// When this side last sent a probe on the path; `nil` if never.
    public var lastProbeSent: Timestamp?
    /// The round-trip time of the last echoed probe; `nil` before the first echo.
    public var lastRoundTrip: TimeSpan?
    /// Authentic frames received on the path that were duplicates (a copy another path
    /// delivered first).
    public var duplicatesReceived = 0
    /// Frames this side sent on the path, and their bytes (counted by the runtime through
    /// ``recordSend(bytes:)``, which knows whether the send succeeded).
    public var framesSent = 0
    public var bytesSent = 0

    /// Frames this side sent on the path that the other side's last receiver report
    /// (``PathReport``) says arrived; zero before any report.
    public var framesReportedReceived = 0
    /// The share of the frames this side sent on the path that did not arrive, over the
    /// last window of at least ``PathStatistics/lossWindowFrames`` frames sent, from the
    /// other side's reports; `nil` before a window closed. Data and probes alike: a path's
    /// loss seen by the traffic it carries, not only by its probes.
    public var reportedLoss: Double? {
        get { Self.share(reportedLossTenThousandths) }
        set { reportedLossTenThousandths = Self.tenThousandths(newValue) }
    }
    /// The other side's loss on the path, towards this side, as it last reported it
    /// (``PathReport``); `nil` before it knew.
    public var peerReportedLoss: Double? {
        get { Self.share(peerReportedLossTenThousandths) }
        set { peerReportedLossTenThousandths = Self.tenThousandths(newValue) }
    }
    /// The two losses as the report carries them, in 1/10,000, ``PathReport/unknownLoss``
    /// for none: 2 bytes each, as mpserver keeps 32 paths for each of up to 4,096 sessions.
    var reportedLossTenThousandths = PathReport.unknownLoss
    var peerReportedLossTenThousandths = PathReport.unknownLoss
    /// Frames sent and reported received when the current loss window opened; sent is -1
    /// before the first report. In balance mode also the frames sent up to the last one
    /// the report named as received (``recordReport(received:sentThrough:)``), modulo 2^32.
    var lossWindowSent = -1
    var lossWindowReceived = 0
    var lossWindowThrough: UInt32?
    /// 500 frames: half a second of traffic at 1,000 datagrams/s, and enough that the
    /// frames in flight when a report leaves (a round trip's worth) change little.
    public static let lossWindowFrames = 500

    /// A path never heard from.
    public init() {}

    /// Takes a receiver report that `received` of this side's frames arrived on the path;
    /// returns true when that is more than the last report said (the path delivers). An
    /// older report (a late copy) counts as no growth. The loss window closes on any report
    /// once ``lossWindowFrames`` were sent since it opened, so a path that stops delivering
    /// shows its loss rising to 100%.
    ///
    /// `sentThrough`, when the sender knows it (balance mode's departure log, ``PathLoad``):
    /// the frames sent on the path up to and including the last one the report names as
    /// received, modulo 2^32. A window between two such reports counts only frames whose
    /// fate the reports tell, not those still in flight: counted as lost, those made a
    /// path whose queue filled show 7-11% lost in its first windows with one frame dropped
    /// in the whole run (two 1,000 + 100/s lines at 1,300/s).
    mutating func recordReport(received: Int, sentThrough: UInt32? = nil) -> Bool {
        let grew = received > framesReportedReceived
        framesReportedReceived = max(framesReportedReceived, received)
        guard lossWindowSent >= 0 else {
            (lossWindowSent, lossWindowReceived, lossWindowThrough) = (framesSent, framesReportedReceived, sentThrough)
            return grew
        }
        let sent: Int
        if let sentThrough, let opened = lossWindowThrough {
            // A report that left before the one that opened the window (a copy on a slower
            // path) names an earlier frame: it tells nothing new, and must not wrap around.
            guard Int32(bitPattern: sentThrough &- opened) >= 0 else { return grew }
            sent = Int(sentThrough &- opened)
        } else {
            sent = framesSent - lossWindowSent
        }
        if sent >= Self.lossWindowFrames {
            let arrived = framesReportedReceived - lossWindowReceived
            // More arrived than were sent: the window opened while many frames were in flight
            // or not yet reported (a report leaves every 250 ms) and closes at a lower rate.
            // Such a window says nothing; the last figure stays.
            if arrived <= sent { reportedLoss = 1 - Double(arrived) / Double(sent) }
            (lossWindowSent, lossWindowReceived, lossWindowThrough) = (framesSent, framesReportedReceived, sentThrough)
        }
        return grew
    }

    /// A share (0...1) in 1/10,000, ``PathReport/unknownLoss`` for `nil`.
    static func tenThousandths(_ share: Double?) -> UInt16 {
        share.map { UInt16((min(max($0, 0), 1) * 10_000).rounded()) } ?? PathReport.unknownLoss
    }

    /// The share a value in 1/10,000 stands for; `nil` for one above 10,000 (unknown).
    static func share(_ tenThousandths: UInt16) -> Double? {
        tenThousandths > 10_000 ? nil : Double(tenThousandths) / 10_000
    }

    /// Counts one frame of `bytes` bytes sent on the path.
    public mutating func recordSend(bytes: Int) {
        framesSent &+= 1
        bytesSent &+= bytes
    }

    /// Records that the fresh authentic frame `sequence` arrived at `now`.
    mutating func recordFresh(sequence: UInt64, now: Timestamp) {
        lastFreshSequence = sequence
        lastFreshReceive = now
    }

    mutating func recordReceive(bytes: Int, now: Timestamp) {
        framesReceived &+= 1
        bytesReceived &+= bytes
        lastReceive = now
    }
}
