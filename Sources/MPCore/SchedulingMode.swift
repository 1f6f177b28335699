/// How mpclient spreads payloads over its up paths (`mode` in mpclient.conf).
public enum SchedulingMode: String, Hashable, Sendable, CaseIterable {
    /// Every payload on every up primary path (the original's behaviour): a lost path
    /// loses nothing, at the cost of sending everything once per path.
    case duplicate
    /// Each payload on one up primary path, weighted by (1 − loss) / base RTT (the lowest
    /// probe round trip of the loss window, ``PathHealth/baseRoundTrip``): the paths'
    /// capacities add up, and a path that goes down loses what was in flight on it.
    case balance
}

/// Smooth weighted round-robin (as nginx's upstream balancer): each pick adds every
/// candidate's weight to its credit, takes the candidate with the most credit and charges
/// it the sum of the weights. Over any run of picks each candidate gets its share, evenly
/// interleaved. Fixed storage: no allocation per pick. Not safe for concurrent use.
public struct WeightedRoundRobin: Hashable, Sendable {
    var credits: [Double]

    /// A balancer over `count` slots (at most ``Defaults/maximumPaths``).
    public init(count: Int) {
        credits = Array(repeating: 0, count: min(max(count, 1), Defaults.maximumPaths))
    }

    /// Picks one member of `candidates` (not empty) with the weights `weight(slot)` (> 0);
    /// returns `nil` only for an empty set.
    public mutating func pick(from candidates: PathSet, weight: (Int) -> Double) -> Int? {
        var total = 0.0
        var best: Int?
        for slot in candidates.members where slot < credits.count {
            let share = max(weight(slot), .leastNormalMagnitude)
            total += share
            credits[slot] += share
            if best.map({ credits[slot] > credits[$0] }) ?? true { best = slot }
        }
        if let best { credits[best] -= total }
        return best
    }
}
