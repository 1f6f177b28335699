/// Balance mode's scheduler for one direction of a session: a ``PathLoad`` per path, fed by
/// the other side's receiver reports, and each payload on the path where it would arrive
/// first (the earliest-completion rule of the MPTCP schedulers ECF and BLEST): the
/// fastest path carries everything while its queue stays shorter than the next path's
/// extra delay, and a slower path takes the rest only then. Capacities add up, paths of
/// different delays deliver nearly in order, and no path's queue grows past what the others
/// could deliver sooner.
///
/// Pure; time passed in. Not safe for concurrent use.
public struct LoadBalancer: Sendable {
    /// The paths' loads, indexed by path id.
    public internal(set) var loads: [PathLoad]

    /// A scheduler over `caps.count` paths, each capped at its entry (`nil`: no cap).
    public init(caps: [RateCap?]) {
        loads = caps.map { PathLoad(cap: $0) }
    }

    /// A probing path (``PathLoad/isProbing``) drains faster only while it leads: while its
    /// one-way delay is at least 1 ms below every other candidate's. Its headroom is there
    /// so that a burst does not spill onto slower paths, whose later arrivals would reorder
    /// it; beside a path of the same delay it would only draw the whole load onto one path
    /// (two 1,000/s lines at 1,000/s, one probing beside one that was saturated: 1.3-2.7%
    /// of the 5 s after the probing one dropped to 300/s lost in three runs of four).
    static let probeLead = 0.001

    /// The path among `candidates` where a payload of `bytes` bytes sent at `now` would
    /// arrive first: its wait in the path's virtual queue plus the path's one-way delay
    /// over the lowest of the candidates' (their base delays, or `fallback(path)` for each
    /// while one has none). Ties go to the lower path id. `nil` when no candidate has a load.
    /// Marks which candidate leads (``probeLead``).
    public mutating func earliest(
        among candidates: PathSet, bytes: Int, now: Timestamp, fallback: (Int) -> TimeSpan
    ) -> Int? {
        var lowest: Int64?
        var measured = true
        for path in candidates.members where path < loads.count {
            guard let base = loads[path].baseDelay else {
                measured = false
                break
            }
            lowest = min(lowest ?? base, base)
        }
        // Measured: over the lowest base delay; else the fallback's.
        let reference = measured ? lowest : nil
        var first: (path: Int, delay: Double)?
        var second = Double.infinity
        for path in candidates.members where path < loads.count {
            let own = delay(of: path, over: reference, fallback: fallback)
            if let leader = first, own >= leader.delay {
                second = min(second, own)
            } else {
                second = min(second, first?.delay ?? .infinity)
                first = (path, own)
            }
        }
        var best: (path: Int, arrival: Double)?
        for path in candidates.members where path < loads.count {
            loads[path].leads = path == first?.path && second - (first?.delay ?? 0) >= Self.probeLead
            let arrival = loads[path].waitSeconds(now: now) + delay(of: path, over: reference, fallback: fallback)
            if best.map({ arrival < $0.arrival }) ?? true { best = (path, arrival) }
        }
        guard let best else { return nil }
        // A path that lost the payload to its queue alone was what limited it: used.
        for path in candidates.members where path < loads.count && path != best.path {
            if delay(of: path, over: reference, fallback: fallback) < best.arrival { loads[path].declined = true }
        }
        return best.path
    }

    /// The one-way delay of `path` over `reference` (the lowest base delay), seconds; the
    /// fallback's when there is no reference.
    private func delay(of path: Int, over reference: Int64?, fallback: (Int) -> TimeSpan) -> Double {
        guard let reference else { return fallback(path).seconds }
        return Double((loads[path].baseDelay ?? 0) &- reference) / 1e9
    }

    /// Counts a frame (`sequence`, `bytes`) put on `path` at `now`; `payload` when it carries one.
    public mutating func recordSend(path: Int, sequence: UInt64, bytes: Int, now: Timestamp, payload: Bool = false) {
        guard loads.indices.contains(path) else { return }
        loads[path].recordSend(sequence: sequence, bytes: bytes, now: now)
        if payload { loads[path].payloads &+= 1 }
    }

    /// Takes the departure entries of a receiver report `body` (R6b-checked);
    /// `received(path)` is the path's count of frames received as the reports give it.
    mutating func recordReport(_ body: UnsafeRawBufferPointer, received: (Int) -> Int) {
        // Without the reporting side's clock (an older build) the delays are not known.
        guard let clock = PathReport.clock(in: body) else { return }
        PathReport.forEachDeparture(in: body) { entry in
            guard loads.indices.contains(entry.path), clock.nanoseconds > entry.age.nanoseconds else { return }
            let arrival = Timestamp(nanoseconds: clock.nanoseconds - entry.age.nanoseconds)
            loads[entry.path].recordFeedback(
                sequence: entry.sequence, received: received(entry.path), arrival: arrival)
        }
    }

    /// The frames put on `path` up to and including the last one the receiver report
    /// `body` names as received there, modulo 2^32 (``PathStatistics/recordReport(received:sentThrough:)``);
    /// `nil` when the log does not hold it or it left ``deliveryHorizon`` or more before
    /// `now`: a path that delivered nothing since then counts what it was sent since, so
    /// its loss rises.
    func framesSent(onPath path: Int, throughReport body: UnsafeRawBufferPointer, now: Timestamp) -> UInt32? {
        guard loads.indices.contains(path) else { return nil }
        var frames: UInt32?
        PathReport.forEachDeparture(in: body) { entry in
            guard entry.path == path, let departure = loads[path].departure(of: entry.sequence),
                now - departure.time < Self.deliveryHorizon
            else { return }
            frames = departure.frames
        }
        return frames
    }

    /// A path whose last delivered frame left a second ago or more delivers nothing now.
    static let deliveryHorizon = TimeSpan.seconds(1)

    /// The share of the payloads the scheduler gave `path` (0...1); 0 before any.
    public func share(of path: Int) -> Double {
        var total = 0
        for load in loads { total += load.payloads }
        guard total > 0, loads.indices.contains(path) else { return 0 }
        return Double(loads[path].payloads) / Double(total)
    }
}
