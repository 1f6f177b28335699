/// What the sending side knows of one path's capacity in its own direction, in balance
/// mode: a delivery-rate model after BBR's, fed by the other side's receiver reports (the
/// DocC article Balance explains it and why it settles).
///
/// - Every frame this side puts on the path is logged (at most one entry per
///   ``logSpacing``): its sequence number, when it left, the bytes and frames put on the
///   path so far, and the wait the virtual queue predicted for it.
/// - A report names, per path, the last fresh frame received on it and when it arrived on
///   the reporter's clock (``PathReport``). Looked up in the log, that gives the frame's
///   delay, up to the clocks' fixed offset; its minimum over 5 to 10 s is the base delay,
///   the excess the queueing delay.
/// - Two samples at least ``sampleSpan`` apart give the delivery rate (the bytes sent
///   between the two frames, scaled by the share that arrived, over the time between their
///   arrivals) and the sending rate (the same bytes over the time between departures).
/// - The capacity estimate (``update(delivered:sending:queued:queuedThroughout:now:)``): the
///   delivery rate itself while the path's queue stood from one sample to the next, else
///   the highest delivery rate of the last 1 to 2 s; capped by the user's `rate`.
/// - A virtual queue: the bytes put on the path, drained at the estimate, and corrected by
///   each sample's measured queueing delay. ``LoadBalancer`` sends each payload where it
///   would arrive first.
///
/// Pure; time passed in. Not safe for concurrent use.
public struct PathLoad: Sendable {
    /// One logged departure.
    struct Departure: Sendable {
        var sequence: UInt64
        var time: Timestamp
        /// Bytes and frames put on the path up to and including this frame (the frames
        /// modulo 2^32: only differences are read).
        var bytes: UInt64
        var frames: UInt32
        /// The frame's own bytes.
        var size: UInt16
        /// How long the virtual queue said the frame would wait, and the corrections made
        /// to the virtual queue until then (``corrections``), seconds.
        var wait: Float
        var corrections: Double
    }

    /// A delivery sample: a logged departure as a report found it arrived.
    struct Sample: Sendable {
        var departure: Departure
        var arrival: Timestamp
        var received: Int
        /// Whether the frame waited in a queue (``queueThreshold``).
        var queued: Bool
    }

    /// 512 entries at least 0.5 ms apart: at least 256 ms of departures, more than a
    /// report's interval plus the round trip of most links, and every frame up to 2,000 a
    /// second (``departure(of:)`` dates the others). 24 KB per path that carries traffic,
    /// only in balance mode.
    static let logCapacity = 512
    static let logSpacing = TimeSpan(nanoseconds: 500_000)
    /// The base delay is the lowest delay of the last 10 s (two windows of 5 s).
    static let baseWindow = TimeSpan.seconds(5)
    /// Delivery samples span at least 100 ms and 4 frames: enough that a burst a token
    /// bucket lets through at once, or one frame's jitter, does not make the rate.
    static let sampleSpan = TimeSpan.milliseconds(100)
    static let sampleFrames: UInt32 = 4
    /// Queueing delay above 5 ms (plus two frames' serialization at the estimated rate)
    /// means the path's queue grows.
    static let queueThreshold = TimeSpan.milliseconds(5)
    /// A frame's measured queueing delay that differs from the wait the virtual queue
    /// predicted for it (less the corrections made since) by more than 0.2 ms corrects the
    /// virtual queue by the difference.
    static let queueTolerance = TimeSpan(nanoseconds: 200_000)
    static let correctionGain = 1.0
    /// While a path's capacity is unknown (``isProbing``) and it shows no queue, it is given
    /// 64 times its estimate: a TCP sender's slow start outgrows any estimate within a
    /// few round trips, and spilling it onto slower paths before the fast one shows a queue
    /// reorders it into retransmissions (WireGuard's TCP cubic over unlimited 5, 15 and
    /// 30 ms paths, first second up: 27 Mbit/s and 239 retransmissions at four times; at
    /// 64, 48-264 Mbit/s in eight runs, 192 or more in four; a start that lost early climbs
    /// like cubic after a loss). The first report that shows a queue returns the path to
    /// its estimate.
    static let startupHeadroom = 64.0
    /// ... and never less than 1 Gbit/s (125 MB/s): 64 times the first estimate is 128
    /// Mbit/s, which a slow start over a 10 ms path passes within 50 ms, before the first
    /// sample; it then spilled onto the slower paths and was reordered into retransmissions
    /// (test bed, unlimited paths, cubic up: 71-112 Mbit/s in the first second and 8 s of
    /// climbing back; with the floor 227-354 in the first second, balance over duplicate up
    /// 117-151% in five runs).
    static let startupFloor = 125_000_000.0
    /// A path that did not deliver what it was given while used (``saturatedAt``) has a
    /// known capacity for 10 s: carrying less than its estimate since does not make it
    /// probe again (a line that slowed from 1,000 to 300/s, probing again each time its
    /// queue emptied, lost 2.2% of the next 5 s; ``LoadBalancer/probeLead`` guards the same).
    static let saturationMemory = TimeSpan.seconds(10)
    static let startupGrowth = 1.25
    /// A probing path that does not lead drains at twice its estimate while it shows no
    /// queue (BBR's startup gain): given only its estimate, it delivers only that, which
    /// ends its startup at the first sample (``startupGrowth``), and then grows only as
    /// fast as the virtual queue's corrections give it more. Beside a fast line that TCP
    /// keeps full, a 10 Mbit/s line took 3 s to be known above 2 (test bed, 20 + 10 + 2
    /// Mbit/s lines, cubic up).
    static let startupGain = 2.0
    /// Three used samples in a row that did not grow by ``startupGrowth`` end a first
    /// startup whose queue never showed: a slower path that carries only what its delay
    /// earns it (the 200/s line beside a 600/s one) would otherwise drain at twice its
    /// capacity for good, and its payloads arrive later than the scheduler planned
    /// (simulated 600 + 200/s, the slow one 20 ms longer: 7.5% out of order up, 9.0% with
    /// 0.5 ms of jitter; with the limit, 0.2% and 1.0%).
    static let startupStallLimit = 3
    /// Delivery under 80% of sending means the path drops what it cannot carry (random loss
    /// of up to 20% does not look like saturation).
    static let keepUpShare = 0.8
    /// Sending at 70% or more of the estimate, while the scheduler gave another path a
    /// payload because of this one's queue (``declined``), counts as using the path: only
    /// then can a sample lower the estimate. At that share, a sample that delivered under
    /// ``keepUpShare`` saturated the path whatever the scheduler did.
    static let busyShare = 0.7
    /// The delivery rates of the last 2 s make the estimate (two windows of 1 s).
    static let rateWindow = TimeSpan.seconds(1)
    /// Before any sample: 2 Mbit/s, or the user's cap if lower. Too high costs a feedback
    /// delay of overload on a slow line (measured: 1% of 20 s lost on a 100/s line with
    /// 10 Mbit/s; at 4 Mbit/s the line that slows to 300/s lost 1.0-1.3% after the drop
    /// in two runs of three); too low spreads TCP's first bursts over every path, whose
    /// reordering costs it its slow start (WireGuard's TCP over 20 + 10 + 2 Mbit/s lines
    /// carried 9-10 Mbit/s in its first second at 1 Mbit/s, 19-21 at 2 or 4).
    public static let initialRate = 250_000.0
    /// Frames of 512 bytes or more are payload-sized: their delay is a payload's.
    static let largeFrame = 512
    /// The IP and UDP headers of a frame (IPv4: 20 + 8 bytes): what a frame costs on a link
    /// beyond its own bytes.
    static let headerOverhead = 28
    /// A full-size frame of 1,200 bytes of payload with its headers, before any was sent.
    static let typicalFrameCost = 1_260.0
    /// A rate never falls below 1 KB/s (a path's probes and reports alone).
    static let minimumRate = 1_000.0

    /// The user's cap on the path; `nil` without one.
    public let cap: RateCap?
    /// The capacity estimate, bytes per second (``initialRate`` or the cap before a sample).
    public private(set) var rate: Double
    /// The last queueing delay measured; zero before a sample.
    public private(set) var queueDelay = TimeSpan(nanoseconds: 0)
    /// The lowest delay of a payload-sized frame (``largeFrame`` bytes or more) over the
    /// last 5 to 10 s, or of any frame before one: nanoseconds of one-way delay plus the
    /// clocks' offset (the same for every path of the session: only differences mean
    /// anything); `nil` before a sample. A payload's delay on a link that serializes it
    /// includes its serialization; on one that sends a short burst at once it does not.
    ///
    /// At most any frame's lowest delay plus a full-size frame's serialization at the
    /// estimate: a path that carried payloads only behind a queue (the slower one, given a
    /// burst at the start) keeps that queue in its payloads' lowest delay while it carries
    /// none, and it would carry none again, as the delay says it is slower than it is
    /// (simulated 600 + 200/s lines, the slow one 20 ms longer: 68 ms, and a fifth of the
    /// replies lost on the fast one's full queue for the rest of the run).
    public var baseDelay: Int64? {
        guard let any = frameDelay.value else { return largeFrameDelay.value }
        guard let large = largeFrameDelay.value else { return any }
        return min(large, any &+ Int64(Self.typicalFrameCost / rate * 1e9))
    }
    /// Payloads the scheduler gave the path.
    public internal(set) var payloads = 0

    var log: [Departure] = []
    var logNext = 0
    var bytesSent: UInt64 = 0
    var framesSent: UInt64 = 0
    /// The virtual queue, bytes, as of `backlogAt`.
    var backlog = 0.0
    /// With a cap: the bytes put on the path drained at the cap alone, as of `backlogAt`,
    /// never corrected by what the line does (a line faster than the cap must still carry
    /// no more than the cap).
    var capBacklog = 0.0
    /// The sum of the corrections made to the virtual queue, seconds.
    var corrections = 0.0
    var backlogAt: Timestamp?
    var frameDelay = WindowedBest<Int64>(window: baseWindow, lowest: true)
    var largeFrameDelay = WindowedBest<Int64>(window: baseWindow, lowest: true)
    var reference: Sample?
    /// The highest delivery rate of the last 1 to 2 s.
    var delivered = WindowedBest<Double>(window: rateWindow, lowest: false)
    /// True until the estimate stops growing (``startupGrowth``) or a queue stands, and
    /// again when the path is used after an application-limited sample.
    var startup = true
    /// The last sample was taken while the path limited nothing: this side sent it less
    /// than ``busyShare`` of its estimate, or never gave another path a payload because of
    /// its queue (``declined``).
    var appLimited = false
    /// When a sample last showed the path saturated: given ``busyShare`` of its estimate or
    /// more, it delivered less than ``keepUpShare`` of that.
    var saturatedAt: Timestamp?
    /// The estimate says only what the path was given, not what it can carry: in startup,
    /// or application-limited with no saturation for ``saturationMemory``. Such is the
    /// downloads' direction after an upload: its acknowledgements set the estimate and kept
    /// the path at it, but the path never held back a payload, so a download there starts
    /// on the fastest path alone.
    var isProbing = true
    /// Set by ``LoadBalancer`` when a payload went elsewhere only because of this path's
    /// virtual queue (without it, the path would have delivered the payload first) since
    /// the last sample: the path was used up to its estimate, not application-limited.
    var declined = false
    /// The last report showed the path's queue (``queueThreshold``).
    var lastQueued = false
    /// The path has not left its first startup: only then does it probe beyond its estimate
    /// without leading (``startupGain``).
    var firstStartup = true
    /// Used samples in a row, in the first startup, that did not grow (``startupStallLimit``).
    var startupStalls = 0
    /// Set by ``LoadBalancer``: the path's delay is the lowest of the candidates' by
    /// ``LoadBalancer/probeLead`` or more, so probing gives it headroom.
    var leads = true

    /// A path capped at `cap` (`nil`: no cap).
    public init(cap: RateCap? = nil) {
        self.cap = cap
        rate = Self.initialRate
        rate = min(rate, capBytes)
    }

    /// The cap in bytes per second (with a `/s` cap, at the frames' average size so far);
    /// infinite without one.
    var capBytes: Double {
        let frameCost = framesSent > 0 ? Double(bytesSent) / Double(framesSent) : Self.typicalFrameCost
        return cap?.bytesPerSecond(frameCost: frameCost) ?? .infinity
    }

    /// Counts a frame of `bytes` bytes, number `sequence`, put on the path at `now`.
    mutating func recordSend(sequence: UInt64, bytes realBytes: Int, now: Timestamp) {
        // A frame costs its bytes and its IP and UDP headers on the link.
        let bytes = realBytes + Self.headerOverhead
        drain(now: now)
        let wait = Float(backlog / drainRate)
        backlog += Double(bytes)
        if cap != nil { capBacklog += Double(bytes) }
        bytesSent &+= UInt64(bytes)
        framesSent &+= 1
        if let last = log.isEmpty ? nil : log[(logNext + log.count - 1) % log.count], now - last.time < Self.logSpacing
        {
            return
        }
        let departure = Departure(
            sequence: sequence, time: now, bytes: bytesSent, frames: UInt32(truncatingIfNeeded: framesSent),
            size: UInt16(clamping: realBytes), wait: wait,
            corrections: corrections)
        if log.count < Self.logCapacity {
            log.append(departure)
        } else {
            log[logNext] = departure
            logNext = (logNext + 1) % log.count
        }
    }

    /// How long, in seconds, a payload sent at `now` would wait in the path's queue: the
    /// virtual queue at the estimated rate. Its own serialization is left out: a link that
    /// is not busy sends at once (a token bucket's burst), and a busy one serializes the
    /// payload after the queue, which is what the next payload waits for.
    func waitSeconds(now: Timestamp) -> Double {
        let rate = drainRate
        let wait = max(backlog - rate * (now - (backlogAt ?? now)).seconds, 0) / rate
        guard cap != nil else { return wait }
        let capRate = capBytes
        return max(wait, max(capBacklog - capRate * (now - (backlogAt ?? now)).seconds, 0) / capRate)
    }

    /// Takes a report's entry for the path: the last frame received on it was number
    /// `sequence`, it arrived at `arrival` (the reporting side's clock: the report's clock
    /// entry minus the entry's age), and `received` frames arrived on the path so far.
    mutating func recordFeedback(sequence: UInt64, received: Int, arrival: Timestamp) {
        guard let departure = departure(of: sequence) else { return }
        let delay = Int64(bitPattern: arrival.nanoseconds &- departure.time.nanoseconds)
        let large = departure.size >= Self.largeFrame
        frameDelay.note(delay, now: departure.time)
        if large { largeFrameDelay.note(delay, now: departure.time) }
        let base = (large ? largeFrameDelay.value : frameDelay.value) ?? delay
        queueDelay = TimeSpan(nanoseconds: UInt64(max(delay - base, 0)))
        // The virtual queue follows the real one: what the frame waited more (or less) than
        // the model said still waits (or does not) ahead of the next payload.
        // Less what was corrected since the frame left: a measurement a round trip old must
        // not correct the same error twice.
        let error = queueDelay.seconds - Double(departure.wait) - (corrections - departure.corrections)
        if abs(error) > Self.queueTolerance.seconds {
            let before = backlog
            backlog = max(backlog + Self.correctionGain * error * rate, 0)
            corrections += (backlog - before) / rate
        }
        let serialization = TimeSpan(seconds: 2 * Double(bytesSent / max(framesSent, 1)) / rate)
        let queued = queueDelay > Self.queueThreshold + serialization
        lastQueued = queued
        // A queue ends the first startup's gain: the path was given what it can carry.
        if queued { firstStartup = false }
        let sample = Sample(departure: departure, arrival: arrival, received: received, queued: queued)
        guard let reference else {
            self.reference = sample
            return
        }
        guard arrival > reference.arrival, arrival - reference.arrival >= Self.sampleSpan,
            departure.frames &- reference.departure.frames >= Self.sampleFrames,
            departure.time > reference.departure.time
        else {
            // A reference from before a restart of the other side (its clock went back).
            if arrival < reference.arrival { self.reference = sample }
            return
        }
        self.reference = sample
        let bytes = Double(departure.bytes &- reference.departure.bytes)
        let frames = Double(departure.frames &- reference.departure.frames)
        let share = min(Double(max(received - reference.received, 0)) / frames, 1)
        let delivered = bytes * share / (arrival - reference.arrival).seconds
        let sending = bytes / (departure.time - reference.departure.time).seconds
        update(
            delivered: delivered, sending: sending, queued: queued || reference.queued,
            queuedThroughout: queued && reference.queued, now: arrival)
    }

    /// The estimate after a sample, BBR's bottleneck bandwidth: the highest delivery rate
    /// of the samples taken while this side used the path (sending at ``busyShare`` of the
    /// estimate or more while its queue held payloads back, ``declined``) over the last two
    /// ``rateWindow``s; a sample taken while the path limited nothing (application-limited)
    /// only raises it, as BBR's application-limited samples do. An estimate too low rises
    /// as the virtual queue's corrections give the path more. A path whose queue stood from
    /// one sample to the next while it held payloads back delivered at its capacity all
    /// along, so that is its rate at once (a link that slowed down is known within a
    /// sample); one that lost more than chance while given ``busyShare`` of the estimate
    /// (``keepUpShare``) halves at most, as the loss may be its own, and stops probing even
    /// if it held nothing back: a probing path that leads takes a burst alone, and counting
    /// its overflow as no saturation kept it probing into further overflows (lines of 20 +
    /// 10 + 2 Mbit/s, cubic up: 19.4-26.9 Mbit/s in seven runs; counted, 23.6-26.5 in five).
    ///
    /// A queue that stands while the path held nothing back is a loaded machine's delay,
    /// not the path's capacity: acknowledgements of an upload, taking it, set the estimate
    /// to their own rate, and the download after the upload then started on every path
    /// (test bed: 7-26 Mbit/s in its first second in seven runs of ten).
    private mutating func update(
        delivered: Double, sending: Double, queued: Bool, queuedThroughout: Bool, now: Timestamp
    ) {
        let loaded = sending >= Self.busyShare * rate
        let busy = declined && loaded
        let standing = declined && queuedThroughout
        let lossy = loaded && delivered < Self.keepUpShare * sending
        declined = false
        if standing || lossy {
            rate = max(delivered, queuedThroughout ? 0 : rate / 2)
            self.delivered.reset(to: rate, now: now)
            startup = false
            // Saturated only when it did not deliver what it was given: a queue that stands
            // while the path delivers all (a busy machine delaying acknowledgements) says
            // nothing of the path's capacity.
            if lossy { saturatedAt = now }
        } else if busy, firstStartup, !queued {
            // Held back by the virtual queue alone: the real one stayed empty, so the path
            // carries at least what it delivered, and its startup goes on (``startupGain``).
            // Taking the sample as the path's capacity set a 10 Mbit/s line's estimate to
            // 1.5 Mbit/s, where it stayed for seconds beside a full 20 Mbit/s one (test bed).
            // It ends after ``startupStallLimit`` such samples in a row that did not grow by
            // a quarter (BBR's full-bandwidth rule): a path given twice its estimate that
            // does not deliver more is at its capacity or carries what its delay earns it.
            self.delivered.note(delivered, now: now)
            startupStalls = delivered < rate * Self.startupGrowth ? startupStalls + 1 : 0
            if startupStalls >= Self.startupStallLimit { startup = false }
            rate = max(rate, delivered)
        } else if busy {
            // Startup ends at the first busy sample that did not deliver a quarter more than
            // the estimate (BBR leaves its startup when the bandwidth stops growing). A path
            // used again after carrying less than its estimate (the downloads' direction
            // after an upload, whose estimate its acknowledgements set) starts up again: its
            // estimate says only what it was given.
            if startup, delivered < rate * Self.startupGrowth {
                startup = false
            } else if appLimited {
                startup = true
            }
            self.delivered.note(delivered, now: now)
            rate = self.delivered.value ?? delivered
        } else {
            // Application-limited: the path carried what it was given, which says only that
            // it carries at least that much (a ping between downloads must not find the
            // estimate down to the ping's rate).
            rate = max(rate, delivered)
        }
        rate = min(max(rate, Self.minimumRate), capBytes)
        appLimited = !busy && !standing && !lossy
        if !startup { firstStartup = false }
        isProbing = startup || (appLimited && saturatedAt.map { now - $0 >= Self.saturationMemory } ?? true)
    }

    /// The rate the virtual queue drains at: the estimate, or ``startupHeadroom`` times it
    /// while the path's capacity is unknown (``isProbing``), it leads the paths of its
    /// session (``leads``), and the last report showed no queue over ``queueThreshold``
    /// (BBR's startup: the rate grows with each sample until a queue shows or it stops
    /// growing); ``startupGain`` times it in the same case without leading, in the path's
    /// first startup only (``firstStartup``). A loaded machine's delay of a millisecond or
    /// two is no queue: stopping at 0.2 ms, a download after an upload carried 16-97 Mbit/s
    /// in its first second in five test bed runs, 122-139 in three at ``queueThreshold``.
    ///
    /// Once out of startup a path drains at its estimate even when its last sample showed no
    /// queue: a path that always carries a queue (the fast one beside a slower, longer one)
    /// has that queue in its base delay, so "no queue" is only the model's own noise there,
    /// and draining 10% faster on it put payloads behind the slow path's (simulated 600 +
    /// 200/s lines, the slow one 20 ms longer, at 750/s: 4.5%/5.7% out of order up/down
    /// with it, 1.1%/1.6% without).
    var drainRate: Double {
        guard isProbing, !lastQueued else { return rate }
        if leads { return min(max(rate * Self.startupHeadroom, Self.startupFloor), capBytes) }
        guard firstStartup else { return rate }
        return min(rate * Self.startupGain, capBytes)
    }

    private mutating func drain(now: Timestamp) {
        if let backlogAt, now > backlogAt {
            backlog = max(backlog - drainRate * (now - backlogAt).seconds, 0)
            if cap != nil { capBacklog = max(capBacklog - capBytes * (now - backlogAt).seconds, 0) }
        }
        backlogAt = max(backlogAt ?? now, now)
    }

    /// The departure of frame `sequence`: its log entry, or for a frame the log skipped
    /// (sent within ``logSpacing`` of the entry before it, on a path carrying more than
    /// 2,000 frames a second) the entry before it dated half the way to the next one (at
    /// most half a ``logSpacing`` off); `nil` when the log holds no entry at or below it.
    ///
    /// Where the log keeps every frame a report's frame is dated exactly: dating it by a
    /// neighbour 2 ms apart made every other sample on a path sending every 1.7 ms read a
    /// queue one frame longer than it was (simulated). Where it cannot, a sample a quarter
    /// of a millisecond off beats none: taking only exact entries left a path at 15,000
    /// frames a second one sample in seven reports, and balance mode at a fifth of
    /// duplicate mode's TCP throughput on unlimited paths (test bed).
    func departure(of sequence: UInt64) -> Departure? {
        guard let index = logIndex(atOrBefore: sequence) else { return nil }
        var entry = log[(logNext + index) % log.count]
        guard entry.sequence != sequence else { return entry }
        let gap = index + 1 < log.count ? log[(logNext + index + 1) % log.count].time - entry.time : Self.logSpacing
        entry.time = entry.time + TimeSpan(nanoseconds: min(gap, Self.logSpacing).nanoseconds / 2)
        return entry
    }

    /// The position in the log (0 the oldest) of the latest entry numbered `sequence` or lower.
    private func logIndex(atOrBefore sequence: UInt64) -> Int? {
        guard !log.isEmpty else { return nil }
        // The log is sorted by sequence from `logNext` (oldest) on: binary search.
        var low = 0
        var high = log.count
        while low < high {
            let middle = (low + high) / 2
            if log[(logNext + middle) % log.count].sequence <= sequence { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }
}
