// mpserver's Prometheus metrics (`--metrics-port`): the server's counters and totals over
// every session; per session (labelled with the session id) the busiest
// ``Defaults/maximumReportedSessions``; per session and path the numbers of `--status` for
// the paths heard from, until the page holds ``Defaults/maximumSeriesPerScrape`` samples.
import MPCore

extension ServerDaemon {
    /// The per-path metrics: name, type, help, and the value of a path (nil: no sample).
    static let pathMetrics: [(String, String, String, @Sendable (PathStatistics, PathLoad?, Timestamp) -> Double?)] = [
        (
            "mptunnel_server_path_frames_received_total", "counter", "Frames received on the path.",
            { statistics, _, _ in Double(statistics.framesReceived) }
        ),
        (
            "mptunnel_server_path_bytes_received_total", "counter", "Frame bytes received on the path.",
            { statistics, _, _ in Double(statistics.bytesReceived) }
        ),
        (
            "mptunnel_server_path_frames_sent_total", "counter", "Frames sent on the path.",
            { statistics, _, _ in Double(statistics.framesSent) }
        ),
        (
            "mptunnel_server_path_bytes_sent_total", "counter", "Frame bytes sent on the path.",
            { statistics, _, _ in Double(statistics.bytesSent) }
        ),
        (
            "mptunnel_server_path_duplicates_total", "counter", "Copies dropped as duplicates on the path.",
            { statistics, _, _ in Double(statistics.duplicatesReceived) }
        ),
        (
            "mptunnel_server_path_loss_up_ratio", "gauge",
            "Share of mpclient's frames on the path that did not arrive, from mpclient's receiver reports.",
            { statistics, _, _ in statistics.peerReportedLoss }
        ),
        (
            "mptunnel_server_path_loss_down_ratio", "gauge",
            "Share of mpserver's frames on the path that did not arrive, from mpclient's receiver reports.",
            { statistics, _, _ in statistics.reportedLoss }
        ),
        (
            "mptunnel_server_path_last_heard_seconds", "gauge", "Seconds since the path's last frame.",
            { statistics, _, now in statistics.lastReceive.map { seconds(now - $0) } }
        ),
        (
            "mptunnel_server_path_capacity_down_bytes_per_second", "gauge",
            "Balance mode: the path's estimated capacity towards mpclient (from mpclient's reports).",
            { _, load, _ in load?.rate }
        ),
        (
            "mptunnel_server_path_queue_down_seconds", "gauge",
            "Balance mode: the queueing delay last measured on the path towards mpclient.",
            { _, load, _ in load.map { seconds($0.queueDelay) } }
        ),
        (
            "mptunnel_server_path_payloads_down_total", "counter",
            "Balance mode: replies the scheduler put on the path.",
            { _, load, _ in load.map { Double($0.payloads) } }
        ),
    ]

    /// The metrics page, in Prometheus's text format, made at once.
    func metricsText() -> String { metricsText(report: sessionReport()) }

    /// The metrics page made in slices (see ``MetricsEndpoint``): the sessions
    /// ``reportSlice`` at a time, then the page in a slice of its own.
    func metricsSlices() -> () -> String? {
        var builder = SessionReportBuilder(
            sessionIDs: Array(engine.sessions.keys), limit: Defaults.maximumReportedSessions)
        return { [unowned self] in
            guard builder.isComplete else {
                builder.advance(over: engine.sessions, count: Self.reportSlice)
                return nil
            }
            return metricsText(report: builder.report)
        }
    }

    /// The metrics page for `report`.
    func metricsText(report: SessionReport) -> String {
        let now = MonotonicClock.now()
        var page = PrometheusText(samples: Defaults.maximumSeriesPerScrape)
        for (name, type, help, value) in serverMetrics(report) {
            page.metric(name, type, help: help)
            page.sample(name, value)
        }
        // Each listed session's numbers read once (labels formatted once), then written
        // metric by metric as the format groups them.
        let sessions = report.listed.map {
            (label: hex($0.sessionID), totals: $0.totals, delivered: $0.payloadsDelivered)
        }
        let perSession: [(String, String, (PathStatistics, Int) -> Int)] = [
            ("mptunnel_server_session_payloads_delivered_total", "Payloads sent to the target.", { $1 }),
            (
                "mptunnel_server_session_bytes_received_total", "Frame bytes received.",
                { totals, _ in totals.bytesReceived }
            ),
            ("mptunnel_server_session_bytes_sent_total", "Frame bytes sent.", { totals, _ in totals.bytesSent }),
        ]
        for (name, help, value) in perSession {
            page.metric(name, "counter", help: help)
            for session in sessions {
                page.sample(name, Double(value(session.totals, session.delivered)), labels: ["session": session.label])
            }
        }
        let (rows, omitted) = pathRows(report, budget: Defaults.maximumSeriesPerScrape - page.sampleCount - 1)
        for (name, type, help, value) in Self.pathMetrics {
            page.metric(name, type, help: help)
            for row in rows {
                guard let number = value(row.statistics, row.load, now) else { continue }
                page.sample(name, number, labels: ["session": row.session, "path": row.path])
            }
        }
        page.metric("mptunnel_server_path_series_omitted", "gauge", help: "Per-path samples left out of this page.")
        page.sample("mptunnel_server_path_series_omitted", Double(omitted * Self.pathMetrics.count))
        return page.text
    }

    /// The listed sessions' heard paths, busiest session first, as many as `budget` samples
    /// allow (one per path metric each): labels and numbers read once; and how many paths
    /// were left out.
    private func pathRows(
        _ report: SessionReport, budget: Int
    ) -> (rows: [(session: String, path: String, statistics: PathStatistics, load: PathLoad?)], omitted: Int) {
        let room = max(budget, 0) / Self.pathMetrics.count
        var rows: [(session: String, path: String, statistics: PathStatistics, load: PathLoad?)] = []
        rows.reserveCapacity(room)
        var omitted = 0
        for session in report.listed {
            let heard = session.heardPaths
            guard rows.count < room else {
                omitted += heard.count
                continue
            }
            let label = hex(session.sessionID)
            let paths = session.paths
            let loads = session.loads?.loads
            for path in heard.members {
                guard rows.count < room else {
                    omitted += 1
                    continue
                }
                rows.append((label, String(path), paths[path], loads.map { $0[path] }))
            }
        }
        return (rows, omitted)
    }

    /// The server's own counters and the totals over every session.
    private func serverMetrics(_ report: SessionReport) -> [(String, String, String, Double)] {
        let totals = report.totals
        return [
            ("mptunnel_server_sessions", "gauge", "Sessions.", Double(report.sessionCount)),
            (
                "mptunnel_server_sessions_listed", "gauge", "Sessions with their own samples (the busiest).",
                Double(report.listed.count)
            ),
            ("mptunnel_server_flows", "gauge", "Flows (sockets to the target).", Double(flows.count)),
            (
                "mptunnel_server_duplicates_total", "counter", "Copies dropped as duplicates.",
                Double(engine.drops[.duplicate])
            ),
            (
                "mptunnel_server_dropped_total", "counter", "Frames dropped, duplicates included.",
                Double(engine.drops.total)
            ),
            (
                "mptunnel_server_target_send_failures_total", "counter", "Sends to the target refused.",
                Double(counters.targetSendFailures)
            ),
            (
                "mptunnel_server_path_send_failures_total", "counter", "Sends to paths refused.",
                Double(counters.pathSendFailures)
            ),
            (
                "mptunnel_server_flows_refused_total", "counter", "Flows not opened (limits).",
                Double(counters.flowsRefused)
            ),
            // Sums over the sessions kept: they fall when a session expires, so they are gauges.
            (
                "mptunnel_server_sessions_payloads_delivered", "gauge", "Payloads sent to the target, all sessions.",
                Double(report.payloadsDelivered)
            ),
            (
                "mptunnel_server_sessions_frames_received", "gauge", "Frames received, all sessions.",
                Double(totals.framesReceived)
            ),
            (
                "mptunnel_server_sessions_bytes_received", "gauge", "Frame bytes received, all sessions.",
                Double(totals.bytesReceived)
            ),
            (
                "mptunnel_server_sessions_frames_sent", "gauge", "Frames sent, all sessions.",
                Double(totals.framesSent)
            ),
            (
                "mptunnel_server_sessions_bytes_sent", "gauge", "Frame bytes sent, all sessions.",
                Double(totals.bytesSent)
            ),
            (
                "mptunnel_server_sessions_duplicates", "gauge", "Copies dropped as duplicates, all sessions.",
                Double(totals.duplicatesReceived)
            ),
            (
                "mptunnel_server_sessions_fec_groups_complete", "gauge",
                "Mirrored fec: mpclient's groups whose every payload arrived or was rebuilt, all sessions.",
                Double(report.fec.groupsComplete)
            ),
            (
                "mptunnel_server_sessions_fec_payloads_rebuilt", "gauge",
                "Payloads rebuilt from mpclient's parity, all sessions.", Double(report.fec.payloadsRebuilt)
            ),
            (
                "mptunnel_server_sessions_fec_groups_lost", "gauge",
                "mpclient's groups given up with payloads missing, all sessions.", Double(report.fec.groupsLost)
            ),
            (
                "mptunnel_server_sessions_fec_parity_bytes_sent", "gauge",
                "Bytes of reply parity frames, all sessions.",
                Double(report.fec.parityBytesSent)
            ),
            (
                "mptunnel_server_sessions_fec_data_bytes_sent", "gauge",
                "Bytes of reply frames sent in groups, all sessions.", Double(report.fec.dataBytesSent)
            ),
        ]
    }
}
