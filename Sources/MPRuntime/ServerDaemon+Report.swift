// What mpserver's reports (the metrics page, `--status`, the SIGUSR1 lines) list: totals over
// every session, and one by one only the sessions with the most traffic, so that a report
// costs the same with 4,096 sessions as with 64 (one pass over the sessions to add up and
// rank them, then the listed ones rendered).
import MPCore

/// Totals over every session, and the sessions to list one by one.
struct SessionReport {
    /// Sessions kept.
    var sessionCount = 0
    /// Path counters summed over every path of every session.
    var totals = PathStatistics()
    /// Payloads delivered to the target, summed over every session.
    var payloadsDelivered = 0
    /// At most ``Defaults/maximumReportedSessions`` sessions, the most traffic first.
    var listed: [ServerSession<SocketAddress>] = []

    /// Sessions counted in the totals but not listed.
    var unlisted: Int { sessionCount - listed.count }
}

extension ServerDaemon {
    /// Adds up every session and picks the `limit` with the most traffic (frame bytes both
    /// ways), ties broken by the most recently heard (any frame, duplicates too). One pass
    /// reading each session's running totals, keeping only the busiest `limit` in order (no
    /// sort of all sessions): about a millisecond for 4,096 sessions.
    func sessionReport(limit: Int = Defaults.maximumReportedSessions) -> SessionReport {
        var report = SessionReport()
        var busiest = Busiest(limit: limit)
        for session in engine.sessions.values {
            let totals = session.totals
            report.totals.add(totals)
            report.payloadsDelivered &+= session.payloadsDelivered
            busiest.offer(
                session, traffic: totals.bytesReceived &+ totals.bytesSent,
                lastReceive: totals.lastReceive?.nanoseconds ?? 0)
        }
        report.sessionCount = engine.sessions.count
        report.listed = busiest.sessions
        return report
    }
}

/// The `limit` sessions ranked highest so far, best first: a session is compared with the
/// last one kept and, only when it ranks higher, placed by binary search.
private struct Busiest {
    let limit: Int
    private(set) var sessions: [ServerSession<SocketAddress>] = []
    private var ranks: [(traffic: Int, lastReceive: UInt64)] = []

    init(limit: Int) {
        self.limit = limit
        sessions.reserveCapacity(limit + 1)
        ranks.reserveCapacity(limit + 1)
    }

    mutating func offer(_ session: ServerSession<SocketAddress>, traffic: Int, lastReceive: UInt64) {
        let rank = (traffic: traffic, lastReceive: lastReceive)
        if ranks.count == limit, let last = ranks.last, !Self.isHigher(rank, than: last) { return }
        var low = 0
        var high = ranks.count
        while low < high {
            let middle = (low + high) / 2
            if Self.isHigher(rank, than: ranks[middle]) { high = middle } else { low = middle + 1 }
        }
        ranks.insert(rank, at: low)
        sessions.insert(session, at: low)
        if ranks.count > limit {
            ranks.removeLast()
            sessions.removeLast()
        }
    }

    private static func isHigher(
        _ rank: (traffic: Int, lastReceive: UInt64), than other: (traffic: Int, lastReceive: UInt64)
    ) -> Bool {
        rank.traffic != other.traffic ? rank.traffic > other.traffic : rank.lastReceive > other.lastReceive
    }
}

extension PathStatistics {
    /// Adds `other`'s frame, byte and duplicate counters to these.
    mutating func add(_ other: PathStatistics) {
        framesReceived &+= other.framesReceived
        bytesReceived &+= other.bytesReceived
        framesSent &+= other.framesSent
        bytesSent &+= other.bytesSent
        duplicatesReceived &+= other.duplicatesReceived
    }
}
