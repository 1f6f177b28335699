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
        "id", "address", "received", "bytes-received", "sent", "bytes-sent", "duplicates", "last-heard",
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
            ("mode", session.mirror.isBalanced ? "balance" : "duplicate"),
        ]
    }

    func pathRow(_ path: Int, of session: ServerSession<SocketAddress>, now: Timestamp) -> [String] {
        let statistics = session.paths[path]
        return [
            "\(path)", session.pathAddresses[path].map { "\($0)" } ?? "-",
            "\(statistics.framesReceived)", "\(statistics.bytesReceived)",
            "\(statistics.framesSent)", "\(statistics.bytesSent)", "\(statistics.duplicatesReceived)",
            statistics.lastReceive.map { "\(secondsText(now - $0))s ago" } ?? "never",
        ]
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
        let now = MonotonicClock.now()
        let report = sessionReport()
        let listen = (try? listenSocket.localAddress).map { "\($0)" } ?? "?"
        var text = "mpserver listen=\(listen) target=\(settings.target) "
        text += serverSummary().map { "\($0)=\($1)" }.joined(separator: " ") + "\n"
        text += "all sessions: " + totalsSummary(report).map { "\($0)=\($1)" }.joined(separator: " ") + "\n"
        for session in report.listed {
            text += "\n" + sessionSummary(session, now: now).map { "\($0)=\($1)" }.joined(separator: " ") + "\n"
            var table = TextTable(Self.pathColumns)
            for path in session.heardPaths.members { table.append(pathRow(path, of: session, now: now)) }
            text += table.render(indent: "  ")
        }
        if report.unlisted > 0 {
            text += "\n\(report.unlisted) quieter sessions not listed (counted in all sessions)\n"
        }
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
