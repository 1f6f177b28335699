// What mpserver reports about itself: a summary with totals over every session, then for
// the busiest sessions (``SessionReport``) a line each and one row per path heard from;
// shared by the SIGUSR1 log lines and the control socket's table (`mpserver --status`), so
// both say the same.
import Logging
import MPCore

extension ServerDaemon {
    /// The columns of a session's path table, in order; the SIGUSR1 lines use them as
    /// metadata keys.
    static let pathColumns = [
        "id", "address", "loss-up", "loss-down", "received", "bytes-received", "sent", "bytes-sent", "duplicates",
        "last-heard", "capacity-down", "queue-down", "share-down",
    ]

    func serverSummary() -> [(String, String)] {
        [
            ("sessions", "\(engine.sessions.count)"), ("flows", "\(flows.count)"),
            ("duplicates", "\(engine.drops[.duplicate])"), ("dropped", "\(engine.drops.total)"),
            ("target-send-failures", "\(counters.targetSendFailures)"),
            ("path-send-failures", "\(counters.pathSendFailures)"), ("flows-refused", "\(counters.flowsRefused)"),
        ]
    }

    func sessionSummary(_ session: ServerSession<SocketAddress>, now: Timestamp) -> [(String, String)] {
        [
            ("session", hex(session.sessionID)), ("paths", "\(session.activePathCount)"),
            ("flows", "\(flowCounts[session.sessionID, default: 0])"),
            ("delivered", "\(session.payloadsDelivered)"),
            ("last-heard", "\(secondsText(now - session.lastReceive))s ago"),
            ("mode", session.isMirroringFEC(now: now) ? "fec" : session.mirror.isBalanced ? "balance" : "duplicate"),
            ("fastest-copies", fastestCopiesText(session.mirror.repeatPath.map { ($0, session.mirror.repeatCopies) })),
        ] + reorderSummary(session.reorder, now: now)
            + fecSummary(session.codesReplies || session.hasFECReceiver ? session.fecStatistics : nil)
    }

    func pathRow(_ path: Int, of session: ServerSession<SocketAddress>, now: Timestamp) -> [String] {
        let statistics = session.paths[path]
        return [
            "\(path)", session.pathAddresses[path].map { "\($0)" } ?? "-",
            // Up: what mpclient sent that did not arrive (its reports say); down: the reverse.
            percentText(statistics.peerReportedLoss), percentText(statistics.reportedLoss),
            "\(statistics.framesReceived)", "\(statistics.bytesReceived)",
            "\(statistics.framesSent)", "\(statistics.bytesSent)", "\(statistics.duplicatesReceived)",
            statistics.lastReceive.map { "\(secondsText(now - $0))s ago" } ?? "never",
        ] + loadCells(session.loads, path: path)
    }

    /// Totals over every session, and how many are listed.
    func totalsSummary(_ report: SessionReport) -> [(String, String)] {
        let totals = report.totals
        return [
            ("received", "\(totals.framesReceived)"), ("bytes-received", "\(totals.bytesReceived)"),
            ("sent", "\(totals.framesSent)"), ("bytes-sent", "\(totals.bytesSent)"),
            ("delivered", "\(report.payloadsDelivered)"), ("listed", "\(report.listed.count)"),
            ("unlisted", "\(report.unlisted)"),
        ]
    }

    /// The table `mpserver --status` prints.
    func statusText() -> String {
        let slice = statusSlices()
        while true {
            if let text = slice() { return text }
        }
    }

    /// Listed sessions rendered per turn of the loop: a table row costs about 5 µs, so 8
    /// sessions of up to 32 paths hold the loop about a millisecond.
    static let statusSessionsPerSlice = 8

    /// The table made in slices (see ``ControlSocket``): the sessions ``reportSlice`` at a
    /// time, then ``statusSessionsPerSlice`` listed sessions per slice.
    func statusSlices() -> () -> String? {
        var builder = SessionReportBuilder(
            sessionIDs: Array(engine.sessions.keys), limit: Defaults.maximumReportedSessions)
        var text: String?
        var written = 0
        return { [unowned self] in
            guard builder.isComplete else {
                builder.advance(over: engine.sessions, count: Self.reportSlice)
                return nil
            }
            let report = builder.report
            guard var page = text else {
                text = statusHeader(report)
                return nil
            }
            let now = MonotonicClock.now()
            for session in report.listed.dropFirst(written).prefix(Self.statusSessionsPerSlice) {
                page += "\n" + sessionSummary(session, now: now).map { "\($0)=\($1)" }.joined(separator: " ") + "\n"
                var table = TextTable(Self.pathColumns)
                for path in session.heardPaths.members { table.append(pathRow(path, of: session, now: now)) }
                page += table.render(indent: "  ")
                written += 1
            }
            guard written == report.listed.count else {
                text = page
                return nil
            }
            if report.unlisted > 0 {
                page += "\n\(report.unlisted) quieter sessions not listed (counted in all sessions)\n"
            }
            return page
        }
    }

    /// The table's first lines: the server and the totals over every session.
    private func statusHeader(_ report: SessionReport) -> String {
        let listen = (try? listenSocket.localAddress).map { "\($0)" } ?? "?"
        var text = "mpserver listen=\(listen) target=\(settings.target) "
        text += serverSummary().map { "\($0)=\($1)" }.joined(separator: " ") + "\n"
        text += "all sessions: " + totalsSummary(report).map { "\($0)=\($1)" }.joined(separator: " ") + "\n"
        return text
    }

    /// Per listed session a line and a line per path, then a summary line with the totals,
    /// at info level: the SIGUSR1 table.
    func logStatistics() {
        let now = MonotonicClock.now()
        let report = sessionReport()
        for session in report.listed {
            logger.info("session statistics", metadata: metadata(sessionSummary(session, now: now)))
            for path in session.heardPaths.members {
                var pairs = Array(zip(Self.pathColumns, pathRow(path, of: session, now: now)))
                pairs.insert(("session", hex(session.sessionID)), at: 0)
                logger.info("path statistics", metadata: metadata(pairs))
            }
        }
        logger.info("server statistics", metadata: metadata(serverSummary() + totalsSummary(report)))
    }

    private func metadata(_ pairs: [(String, String)]) -> Logger.Metadata {
        var metadata = Logger.Metadata()
        for (key, value) in pairs { metadata[key] = "\(value)" }
        return metadata
    }
}
