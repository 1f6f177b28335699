/// When mpclient gives a path that stopped answering a new socket and looks its host name
/// up again: a stale NAT or bridge mapping, or a bridge whose address changed, is escaped
/// only by a new source port or a new address, and probes alone never find those.
///
/// A path is *due* at `now` when it is down, nothing authentic was heard on it for
/// ``interval`` (``Defaults/pathReopenAfterProbes`` probe intervals), and it was not
/// reopened within ``interval`` either. Pure: every method takes the time. Not safe for
/// concurrent use.
public struct PathRecovery: Hashable, Sendable {
    /// Silence after which a down path is reopened, and the gap between two reopenings.
    public let interval: TimeSpan
    var lastReopen: [Timestamp?]

    /// Recovery for `pathCount` paths probed every `probeInterval`.
    public init(pathCount: Int, probeInterval: TimeSpan = Defaults.probeInterval) {
        interval = TimeSpan(nanoseconds: probeInterval.nanoseconds &* UInt64(Defaults.pathReopenAfterProbes))
        lastReopen = Array(repeating: nil, count: max(pathCount, 0))
    }

    /// The paths of `health` due for a new socket at `now`; each is recorded as reopened at
    /// `now` (the runtime reopens every path returned).
    public mutating func due(health: [PathHealth], now: Timestamp) -> PathSet {
        var result = PathSet()
        for path in health.indices where path < lastReopen.count && health[path].state == .down {
            guard let silentSince = health[path].lastHeard ?? health[path].firstProbe,
                now - silentSince >= interval,
                lastReopen[path].map({ now - $0 >= interval }) ?? true
            else { continue }
            lastReopen[path] = now
            result.insert(path: path)
        }
        return result
    }
}
