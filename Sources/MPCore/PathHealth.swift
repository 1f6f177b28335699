/// Whether a path carries payloads.
public enum PathState: Hashable, Sendable {
    /// Answers probes: carries payloads as the scheduling mode says.
    case up
    /// Stopped answering: carries only probes until ``Defaults/pathUpAfterEchoes`` echoes
    /// in a row bring it back.
    case down
}

/// mpclient's judgment of one path from its probes and echoes: round-trip time (RFC 6298),
/// loss over the last ``Defaults/probeLossWindow`` probes, and an up/down state with
/// hysteresis.
///
/// A probe is *lost* when no echo came within ``probeTimeout``; its id is its timestamp,
/// which the echo carries back. The path goes down when no authentic frame arrived for 2.5
/// probe intervals (two missed echoes plus half an interval of jitter), or after
/// ``Defaults/pathDownAfterLostProbes`` lost probes in a row if nothing else was heard on it
/// for a probe interval either: a path that delivers the session's frames is alive, however
/// many probes its loss eats (three in a row happen every ~20 s on a path losing 20% each
/// way, and taking such a path down would lose the copies it carries). It comes back up after
/// ``Defaults/pathUpAfterEchoes`` echoes in a row. A new path is up (optimistic: payloads
/// flow at once) and its silence is counted from its first probe.
///
/// Pure: every method takes the time. Not safe for concurrent use.
public struct PathHealth: Hashable, Sendable {
    enum Outcome: UInt8, Hashable, Sendable {
        case empty, pending, echoed, lost
    }

    /// Up or down.
    public private(set) var state = PathState.up
    /// When the state last changed; `nil` if it never did.
    public private(set) var lastChange: Timestamp?
    /// Round-trip time from the echoes.
    public private(set) var roundTrip = RoundTripEstimator()
    /// When the last authentic frame of any type arrived on the path, or mpserver last
    /// received on it by its report (the path carries the session); `nil` if neither yet.
    public private(set) var lastHeard: Timestamp?
    /// When the last authentic frame arrived on the path, this way: what says the replies
    /// sent on it come through (``isQuiet(now:)``); `nil` if none yet.
    public private(set) var lastReceived: Timestamp?
    /// Lost probes in a row (reset by an echo).
    public private(set) var consecutiveLosses = 0
    /// Echoes in a row (reset by a lost probe).
    public private(set) var consecutiveEchoes = 0
    /// Probes sent, and probes echoed (each probe counted once).
    public private(set) var probesSent = 0
    public private(set) var probesEchoed = 0

    let probeInterval: TimeSpan
    var firstProbe: Timestamp?
    /// The last probes, oldest at `nextSlot`: send time in nanoseconds and outcome.
    var probeTimes: [UInt64]
    var probeOutcomes: [Outcome]
    /// The round trip of each echoed probe of the window, in nanoseconds.
    var probeRoundTrips: [UInt64]
    var nextSlot = 0

    /// A path probed every `probeInterval`.
    public init(probeInterval: TimeSpan = Defaults.probeInterval) {
        self.probeInterval = probeInterval
        probeTimes = Array(repeating: 0, count: Defaults.probeLossWindow)
        probeOutcomes = Array(repeating: .empty, count: Defaults.probeLossWindow)
        probeRoundTrips = Array(repeating: 0, count: Defaults.probeLossWindow)
    }

    /// How long an echo may take before its probe counts as lost: RFC 6298's SRTT + 4 RTTVAR,
    /// at least ``Defaults/probeTimeout``.
    public var probeTimeout: TimeSpan {
        max(roundTrip.timeout ?? Defaults.probeTimeout, Defaults.probeTimeout)
    }

    /// Silence after which an up path goes down: 2.5 probe intervals.
    public var silenceLimit: TimeSpan {
        TimeSpan(nanoseconds: probeInterval.nanoseconds / 2 &* 5)
    }

    /// Silence after which a path counts as quiet: 1.5 probe intervals, half an interval past
    /// the echo that should have come. A quiet path is not down (one lost echo makes it
    /// quiet); quiet primaries only bring in the backup paths early (``ClientSession/pathsFor(now:)``),
    /// so a backup takes over within 2 s of the last primary dying, not 2.5 s. Only frames
    /// that came back on the path count: one that delivers upstream but whose replies are
    /// lost (its relay restarted on a new source port, and mpserver has not moved the
    /// path's address yet, R18b) stays quiet, so the backup keeps carrying the replies.
    public var quietLimit: TimeSpan {
        TimeSpan(nanoseconds: probeInterval.nanoseconds / 2 &* 3)
    }

    /// True when no authentic frame came back on the path for ``quietLimit`` at `now`
    /// (counted from the first probe when nothing ever came).
    public func isQuiet(now: Timestamp) -> Bool {
        guard let heard = lastReceived ?? firstProbe else { return false }
        return now - heard >= quietLimit
    }

    /// The shortest round trip of the echoed probes of the window: the path's delay without
    /// queueing; `nil` when none of them was echoed.
    public var baseRoundTrip: TimeSpan? {
        var best: UInt64?
        for slot in probeOutcomes.indices where probeOutcomes[slot] == .echoed {
            best = min(best ?? .max, probeRoundTrips[slot])
        }
        return best.map(TimeSpan.init(nanoseconds:))
    }

    /// Share of the decided probes of the window (echoed or lost, 0...1) that were lost;
    /// `nil` before any probe was decided.
    public var loss: Double? {
        var lost = 0
        var decided = 0
        for outcome in probeOutcomes where outcome == .echoed || outcome == .lost {
            decided += 1
            if outcome == .lost { lost += 1 }
        }
        return decided == 0 ? nil : Double(lost) / Double(decided)
    }

    /// Records a probe sent at `now`; `now` is its id, so two probes of one path must not
    /// share a timestamp (the session sends at most one per interval).
    public mutating func recordProbe(now: Timestamp) {
        if probeOutcomes[nextSlot] == .pending { markLost(slot: nextSlot, now: now) }
        probeTimes[nextSlot] = now.nanoseconds
        probeOutcomes[nextSlot] = .pending
        nextSlot = (nextSlot + 1) % probeTimes.count
        probesSent &+= 1
        if firstProbe == nil { firstProbe = now }
    }

    /// Records an authentic frame of any type heard at `now`, or a duplicate of a sequence
    /// number that authenticated, counted without being opened (R7b).
    public mutating func recordHeard(now: Timestamp) {
        lastHeard = now
        lastReceived = now
    }

    /// Records that the path delivered to the other side at `time` (from its receiver
    /// report, H4b): heard then, if that is later than anything heard so far.
    public mutating func recordDelivered(at time: Timestamp) {
        lastHeard = max(lastHeard ?? time, time)
    }

    /// Records the echo, heard at `now`, of the probe sent at `sentAt` (an authentic frame:
    /// it counts as heard). Older probes still pending are lost. An echo of a probe this
    /// path did not send, or already decided, changes nothing; returns whether it counted.
    @discardableResult
    public mutating func recordEcho(sentAt: Timestamp, now: Timestamp) -> Bool {
        // A loop, not firstIndex(of:): the generic call allocates in unoptimized builds, and
        // the allocation test counts what the debug build does per frame.
        var match: Int?
        for index in probeTimes.indices where probeTimes[index] == sentAt.nanoseconds {
            match = index
            break
        }
        guard sentAt <= now, let slot = match,
            probeOutcomes[slot] == .pending
        else { return false }
        // Probes are one interval apart and never overtake each other: an older probe
        // still pending when a newer one is echoed is lost, and is decided first, so that
        // "in a row" follows the order the probes were sent in.
        for older in probeTimes.indices where probeOutcomes[older] == .pending && probeTimes[older] < sentAt.nanoseconds
        {
            markLost(slot: older, now: now)
        }
        probeOutcomes[slot] = .echoed
        probeRoundTrips[slot] = (now - sentAt).nanoseconds
        probesEchoed &+= 1
        lastHeard = max(lastHeard ?? now, now)
        lastReceived = now
        roundTrip.add(now - sentAt)
        consecutiveLosses = 0
        consecutiveEchoes += 1
        if state == .down && consecutiveEchoes >= Defaults.pathUpAfterEchoes { change(to: .up, now: now) }
        return true
    }

    /// Records that mpserver answered this path's pending probes with an acceptance instead
    /// of echoes (it does for a frame stamped with another server tag: the first probes of a
    /// session, and those after mpserver restarted). They are not losses, and carry no round
    /// trip: they leave the loss window. The acceptance itself counts as heard.
    public mutating func recordAcceptance(now: Timestamp) {
        for slot in probeOutcomes.indices where probeOutcomes[slot] == .pending { probeOutcomes[slot] = .empty }
        lastHeard = max(lastHeard ?? now, now)
        lastReceived = now
    }

    /// Decides the probes whose echo is overdue at `now` and applies the down rules.
    /// Call on every timer tick.
    public mutating func refresh(now: Timestamp) {
        let timeout = probeTimeout
        for offset in 0..<probeTimes.count {
            let slot = (nextSlot + offset) % probeTimes.count
            guard probeOutcomes[slot] == .pending,
                now - Timestamp(nanoseconds: probeTimes[slot]) >= timeout
            else { continue }
            markLost(slot: slot, now: now)
        }
        guard state == .up, let firstProbe else { return }
        let silence = now - max(lastHeard ?? firstProbe, firstProbe)
        if silence >= silenceLimit { change(to: .down, now: now) }
    }

    private mutating func markLost(slot: Int, now: Timestamp) {
        probeOutcomes[slot] = .lost
        consecutiveEchoes = 0
        consecutiveLosses += 1
        let quiet = lastHeard.map { now - $0 >= probeInterval } ?? true
        if state == .up && quiet && consecutiveLosses >= Defaults.pathDownAfterLostProbes {
            change(to: .down, now: now)
        }
    }

    private mutating func change(to newState: PathState, now: Timestamp) {
        state = newState
        lastChange = now
        if newState == .down { consecutiveEchoes = 0 }
    }
}
