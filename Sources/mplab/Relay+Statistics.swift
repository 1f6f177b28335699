// The relay's counters and what it reports: per direction, what was received, forwarded,
// dropped, overflowed (the --rate queue was full) or failed; and how late held datagrams
// left, which says whether the relay kept the delay and rate it was given.
import MPCore
import MPRuntime

/// What happened to the datagrams of one direction.
struct DirectionCounters {
    var received = 0
    var forwarded = 0
    var dropped = 0
    /// Not sent: send buffer full, ECONNREFUSED, no mapping, delay queue full.
    var failed = 0
    /// Dropped because the --rate queue was full (drop-tail: the link was saturated).
    var overflowed = 0
    /// Bytes of the datagrams received (what the path carried into the relay).
    var bytesReceived = 0

    static func - (lhs: DirectionCounters, rhs: DirectionCounters) -> DirectionCounters {
        DirectionCounters(
            received: lhs.received - rhs.received, forwarded: lhs.forwarded - rhs.forwarded,
            dropped: lhs.dropped - rhs.dropped, failed: lhs.failed - rhs.failed,
            overflowed: lhs.overflowed - rhs.overflowed, bytesReceived: lhs.bytesReceived - rhs.bytesReceived)
    }

    var json: JSONValue {
        .object([
            ("received", .integer(received)), ("forwarded", .integer(forwarded)),
            ("dropped", .integer(dropped)), ("failed", .integer(failed)), ("overflowed", .integer(overflowed)),
        ])
    }
}

extension Relay {
    /// 10 ms: less is the scheduling noise of a shared machine; more means the path was
    /// that much slower (or, with --rate, slower to serve) than the relay was told.
    static let lateReportThreshold = TimeSpan.milliseconds(10)

    /// Calls ``onLate`` when a held datagram left more than ``lateReportThreshold`` after
    /// its time since the last call: the relay was not scheduled in time (a busy machine).
    /// Called every second and at stop.
    func reportLateness() {
        let queues = [
            upDelay?.takeLateness(), downDelay?.takeLateness(), upLink?.takeLateness(), downLink?.takeLateness(),
        ]
        let late = queues.compactMap { $0 }.max() ?? TimeSpan(nanoseconds: 0)
        maximumLateness = max(maximumLateness, late)
        if late >= Self.lateReportThreshold { onLate?(late) }
    }

    /// `{"up":{...},"down":{...},"mappings":N,"expired":N,"receiveErrors":N,"lateMs":N}`.
    var statisticsJSON: JSONValue {
        .object([
            ("listen", .string(listenAddress.description)), ("up", up.json), ("down", down.json),
            ("mappings", .integer(mappingCount)), ("expired", .integer(expiredMappings)),
            ("receiveErrors", .integer(receiveErrors)),
            ("lateMs", .integer(Int(maximumLateness.nanoseconds / 1_000_000))),
        ])
    }

    /// One line for the end of a run.
    var summary: String {
        let directions = [("up", up), ("down", down)].map { name, counters in
            "\(name) received \(counters.received) forwarded \(counters.forwarded) dropped \(counters.dropped) "
                + "overflowed \(counters.overflowed) failed \(counters.failed)"
        }
        let late = maximumLateness.nanoseconds / 1_000_000
        return "relay \(listenAddress) -> \(settings.target): \(directions.joined(separator: "; ")); "
            + "mappings \(mappingCount) (\(expiredMappings) expired), receive errors \(receiveErrors), "
            + "held datagrams late by up to \(late) ms"
    }
}
