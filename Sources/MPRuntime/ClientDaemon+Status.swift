// What mpclient reports about itself: one row per path and a summary, shared by the SIGUSR1
// log lines and the control socket's table (`mpclient --status`), so both say the same.
import Logging
import MPCore

extension ClientDaemon {
    /// The columns of the path table, in order; the SIGUSR1 lines use them as metadata keys.
    static let statusColumns = [
        "id", "endpoint", "address", "state", "role", "rtt", "rttvar", "loss", "loss-up", "loss-down", "sent",
        "bytes-sent", "send-failures", "received", "bytes-received", "duplicates", "last-heard", "capacity-up",
        "queue-up", "share-up",
    ]

    /// One path's row: state (up or down), role (primary or backup), RTT and RTTVAR, probe loss, the data loss
    /// each way from the receiver reports (H4b: up, what mpserver did not receive of what this side sent; down,
    /// the reverse, as mpserver reports it), frames and bytes each way, send failures, duplicates dropped, and
    /// when it was last heard.
    func statusRow(_ path: ClientPath, now: Timestamp) -> [String] {
        let statistics = session.paths[path.index]
        let health = session.health[path.index]
        let role = session.backupPaths.contains(path: path.index) ? "backup" : "primary"
        return [
            "\(path.index)", "\(path.endpoint)", "\(path.address)", "\(health.state)", role,
            milliseconds(health.roundTrip.smoothed),
            milliseconds(health.roundTrip.smoothed == nil ? nil : health.roundTrip.variation),
            health.loss.map { "\(Int(($0 * 100).rounded()))%" } ?? "-",
            percentText(statistics.reportedLoss), percentText(statistics.peerReportedLoss),
            "\(statistics.framesSent)", "\(statistics.bytesSent)", "\(path.sendFailures)",
            "\(statistics.framesReceived)", "\(statistics.bytesReceived)", "\(statistics.duplicatesReceived)",
            statistics.lastReceive.map { "\(secondsText(now - $0))s ago" } ?? "never",
        ] + loadCells(session.loads, path: path.index)
    }

    /// The session's summary as key-value pairs.
    func statusSummary() -> [(String, String)] {
        [
            ("session", hex(session.sessionID)), ("accepted", "\(session.isAccepted)"),
            ("mode", session.mode.rawValue), ("up", "\(session.upPaths.count)/\(paths.count)"),
            ("flows", "\(session.flowCount)"), ("delivered", "\(session.payloadsDelivered)"),
            ("duplicates", "\(session.drops[.duplicate])"), ("dropped", "\(session.drops.total)"),
            (
                "fastest-copies",
                fastestCopiesText(
                    session.fastestPath(
                        among: session.candidatePaths(now: MonotonicClock.now()), now: MonotonicClock.now()))
            ),
        ] + reorderSummary(session.reorder, now: MonotonicClock.now())
            + fecSummary(session.mode == .fec ? session.fecStatistics : nil)
    }

    /// The table `mpclient --status` prints.
    func statusText() -> String {
        let now = MonotonicClock.now()
        let listen = (try? listenSocket.localAddress).map { "\($0)" } ?? "?"
        var table = TextTable(Self.statusColumns)
        for path in paths { table.append(statusRow(path, now: now)) }
        let summary = statusSummary().map { "\($0)=\($1)" }.joined(separator: " ")
        return "mpclient listen=\(listen) \(summary)\n" + table.render()
    }

    /// One line per path and one summary line, at info level: the SIGUSR1 table.
    func logStatistics() {
        let now = MonotonicClock.now()
        for path in paths {
            var metadata = Logger.Metadata()
            for (key, value) in zip(Self.statusColumns, statusRow(path, now: now)) { metadata[key] = "\(value)" }
            logger.info("path statistics", metadata: metadata)
        }
        var metadata = Logger.Metadata()
        for (key, value) in statusSummary() { metadata[key] = "\(value)" }
        logger.info("session statistics", metadata: metadata)
    }
}

/// Balance mode's estimates of a path in the direction this side sends: the capacity (as
/// `7.2mbit`), the queueing delay last measured, and the share of the payloads the scheduler
/// gave it; `-` each outside balance mode.
func loadCells(_ balancer: LoadBalancer?, path: Int) -> [String] {
    guard let balancer, balancer.loads.indices.contains(path) else { return ["-", "-", "-"] }
    let load = balancer.loads[path]
    let queue = Double(load.queueDelay.nanoseconds / 100_000) / 10
    return [
        RateCap.bitsPerSecond((load.rate * 8).rounded()).description, "\(queue)ms",
        percentText(balancer.share(of: path)),
    ]
}

/// A reorder buffer's state for a status summary: the hold now, payloads held, and how
/// its gaps ended (filled, passed by every path, given up when the hold ran out) and the
/// payloads that came after their gap was given up.
func reorderSummary<Address>(_ buffer: ReorderBuffer<Address>?, now: Timestamp) -> [(String, String)] {
    guard let buffer else { return [("reorder", "off")] }
    let hold = Double(buffer.holdTime(now: now).nanoseconds) / 1e6
    return [
        ("reorder-hold", "\((hold * 10).rounded() / 10)ms"), ("held", "\(buffer.heldCount)"),
        ("gaps-filled", "\(buffer.gapsFilled)"), ("gaps-passed", "\(buffer.gapsPassed)"),
        ("gaps-timed-out", "\(buffer.gapsSkipped)"), ("late", "\(buffer.lateDeliveries)"),
    ]
}

/// Forward error correction for a status summary (`mode fec`): groups sent and the parity
/// overhead (parity bytes over the payload frames' bytes sent in groups), and of the other
/// side's groups those complete, the payloads rebuilt and the groups lost. Nothing outside
/// fec mode.
func fecSummary(_ statistics: FECStatistics?) -> [(String, String)] {
    guard let statistics else { return [] }
    return [
        ("fec-groups-sent", "\(statistics.groupsSent)"),
        ("fec-parity-overhead", statistics.parityOverhead.map(percentText) ?? "-"),
        ("fec-groups-complete", "\(statistics.groupsComplete)"),
        ("fec-rebuilt", "\(statistics.payloadsRebuilt)"), ("fec-groups-lost", "\(statistics.groupsLost)"),
        ("fec-unprotected", "\(statistics.unprotectedPayloads)"),
    ]
}

/// Duplicate mode's extra copies for a status summary: `2(path-0)`, or `1` for none.
func fastestCopiesText(_ fastest: (path: Int, copies: Int)?) -> String {
    fastest.map { "\($0.copies)(path-\($0.path))" } ?? "1"
}
