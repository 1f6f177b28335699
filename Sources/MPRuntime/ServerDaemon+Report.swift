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
    /// Forward error correction summed over the sessions that code (mirrored `mode fec`).
    var fec = FECStatistics()
    /// At most ``Defaults/maximumReportedSessions`` sessions, the most traffic first.
    var listed: [ServerSession<SocketAddress>] = []

    /// Sessions counted in the totals but not listed.
    var unlisted: Int { sessionCount - listed.count }
}

extension ServerDaemon {
    /// Sessions taken into a report per turn of the loop when it is made in slices: reading
    /// a session's totals costs about 0.3 µs, most of it the first touch of the session's
    /// memory, so 1,024 hold the loop about 0.3 ms.
    static let reportSlice = 1_024

    /// Adds up every session and picks the `limit` with the most traffic (see
    /// ``SessionReportBuilder``), all at once: for `--status` and SIGUSR1.
    func sessionReport(limit: Int = Defaults.maximumReportedSessions) -> SessionReport {
        var builder = SessionReportBuilder(sessionIDs: Array(engine.sessions.keys), limit: limit)
        builder.advance(over: engine.sessions, count: .max)
        return builder.report
    }
}

/// A ``SessionReport`` made over the sessions there were when it began, a given number at a
/// time: the sessions' running totals added up, and the busiest `limit` kept in order (no
/// sort of all sessions), ties broken by the most recently heard. Sessions that expired
/// meanwhile are left out; sessions created meanwhile wait for the next report.
struct SessionReportBuilder {
    private let sessionIDs: [UInt64]
    private var next = 0
    private var busiest: Busiest
    /// The report so far; whole once ``isComplete``.
    private(set) var report = SessionReport()

    init(sessionIDs: [UInt64], limit: Int) {
        self.sessionIDs = sessionIDs
        busiest = Busiest(limit: limit)
    }

    /// Whether every session has been taken.
    var isComplete: Bool { next == sessionIDs.count }

    /// Takes up to `count` more of the sessions, looked up in `sessions`.
    mutating func advance(over sessions: [UInt64: ServerSession<SocketAddress>], count: Int) {
        let end = next + min(count, sessionIDs.count - next)
        while next < end {
            defer { next += 1 }
            guard let session = sessions[sessionIDs[next]] else { continue }
            let totals = session.totals
            report.totals.add(totals)
            report.payloadsDelivered &+= session.payloadsDelivered
            report.sessionCount += 1
            if session.codesReplies || session.hasFECReceiver { report.fec.add(session.fecStatistics) }
            busiest.offer(
                session, traffic: totals.bytesReceived &+ totals.bytesSent,
                lastReceive: totals.lastReceive?.nanoseconds ?? 0)
        }
        report.listed = busiest.sessions
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
