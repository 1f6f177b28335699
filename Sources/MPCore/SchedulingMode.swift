/// How mpclient spreads payloads over its up paths (`mode` in mpclient.conf).
public enum SchedulingMode: String, Hashable, Sendable, CaseIterable {
    /// Every payload on every up primary path (the original's behaviour): a lost path
    /// loses nothing, at the cost of sending everything once per path.
    case duplicate
    /// Each payload on one up primary path, the one where it would arrive first given each
    /// path's estimated capacity, queue and delay (``LoadBalancer``): the paths' capacities
    /// add up, and a path that goes down loses what was in flight on it.
    case balance
    /// Each payload on one up primary path, in turn, and every K payloads M parity shards
    /// (`mode fec K:M`, ``FECSettings``) spread over the paths so that no path carries more
    /// than M shards of a group: any one path may die, or any M shards of a group be lost,
    /// and every payload arrives, for (K + M) / K times the traffic.
    case fec
}
