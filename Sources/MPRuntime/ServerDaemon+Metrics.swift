// mpserver's Prometheus metrics (`--metrics-port`): the server's counters, and per session
// and path (labelled with the session id and path id) the numbers of `--status`.
import MPCore

extension ServerDaemon {
    /// The metrics page, in Prometheus's text format.
    func metricsText() -> String {
        let now = MonotonicClock.now()
        var page = PrometheusText()
        let summary: [(String, String, String, Double)] = [
            ("mptunnel_server_sessions", "gauge", "Sessions.", Double(engine.sessions.count)),
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
        ]
        for (name, type, help, value) in summary {
            page.metric(name, type, help: help)
            page.sample(name, value)
        }
        let sessions = sessionsByActivity()
        page.metric("mptunnel_server_session_payloads_delivered_total", "counter", help: "Payloads sent to the target.")
        for session in sessions {
            page.sample(
                "mptunnel_server_session_payloads_delivered_total", Double(session.payloadsDelivered),
                labels: ["session": hex(session.sessionID)])
        }
        let perPath: [(String, String, String, (PathStatistics) -> Double?)] = [
            (
                "mptunnel_server_path_frames_received_total", "counter", "Frames received on the path.",
                { Double($0.framesReceived) }
            ),
            (
                "mptunnel_server_path_bytes_received_total", "counter", "Frame bytes received on the path.",
                { Double($0.bytesReceived) }
            ),
            (
                "mptunnel_server_path_frames_sent_total", "counter", "Frames sent on the path.",
                { Double($0.framesSent) }
            ),
            (
                "mptunnel_server_path_bytes_sent_total", "counter", "Frame bytes sent on the path.",
                { Double($0.bytesSent) }
            ),
            (
                "mptunnel_server_path_duplicates_total", "counter", "Copies dropped as duplicates on the path.",
                { Double($0.duplicatesReceived) }
            ),
            (
                "mptunnel_server_path_last_heard_seconds", "gauge", "Seconds since the path's last frame.",
                { $0.lastReceive.map { seconds(now - $0) } }
            ),
        ]
        for (name, type, help, value) in perPath {
            page.metric(name, type, help: help)
            for session in sessions {
                for path in session.heardPaths.members {
                    guard let number = value(session.paths[path]) else { continue }
                    page.sample(name, number, labels: ["session": hex(session.sessionID), "path": "\(path)"])
                }
            }
        }
        return page.text
    }
}
