// mpclient's Prometheus metrics (`metrics-port`): the numbers of the status table, per
// path labelled with its id and endpoint, and the session's summary.
import MPCore

extension ClientDaemon {
    /// The metrics page, in Prometheus's text format.
    func metricsText() -> String {
        let now = MonotonicClock.now()
        var page = PrometheusText()
        func perPath(
            _ name: String, _ type: String, _ help: String, _ value: (ClientPath) -> Double?
        ) {
            page.metric(name, type, help: help)
            for path in paths {
                guard let number = value(path) else { continue }
                page.sample(name, number, labels: ["path": "\(path.index)", "endpoint": "\(path.endpoint)"])
            }
        }
        perPath("mptunnel_client_path_up", "gauge", "1 while the path is up, 0 while it is down.") {
            session.health[$0.index].state == .up ? 1 : 0
        }
        perPath("mptunnel_client_path_backup", "gauge", "1 for a backup path, 0 for a primary.") {
            session.backupPaths.contains(path: $0.index) ? 1 : 0
        }
        perPath("mptunnel_client_path_rtt_seconds", "gauge", "Smoothed probe round-trip time.") {
            session.health[$0.index].roundTrip.smoothed.map(seconds)
        }
        perPath("mptunnel_client_path_rtt_variation_seconds", "gauge", "Round-trip time variation (RTTVAR).") {
            let roundTrip = session.health[$0.index].roundTrip
            return roundTrip.smoothed == nil ? nil : seconds(roundTrip.variation)
        }
        perPath("mptunnel_client_path_probe_loss_ratio", "gauge", "Share of recent probes without an echo.") {
            session.health[$0.index].loss
        }
        perPath(
            "mptunnel_client_path_loss_up_ratio", "gauge",
            "Share of the frames sent on the path that did not arrive, from mpserver's receiver reports."
        ) { session.paths[$0.index].reportedLoss }
        perPath(
            "mptunnel_client_path_loss_down_ratio", "gauge",
            "Share of mpserver's frames on the path that did not arrive, as mpserver's reports say."
        ) { session.paths[$0.index].peerReportedLoss }
        perPath(
            "mptunnel_client_path_capacity_up_bytes_per_second", "gauge",
            "Balance mode: the path's estimated capacity towards mpserver (from mpserver's reports)."
        ) { session.loads?.loads[$0.index].rate }
        perPath(
            "mptunnel_client_path_queue_up_seconds", "gauge",
            "Balance mode: the queueing delay last measured on the path towards mpserver."
        ) { path in session.loads.map { seconds($0.loads[path.index].queueDelay) } }
        perPath(
            "mptunnel_client_path_payloads_up_total", "counter", "Balance mode: payloads the scheduler put on the path."
        ) { path in session.loads.map { Double($0.loads[path.index].payloads) } }
        perPath("mptunnel_client_path_frames_sent_total", "counter", "Frames sent on the path.") {
            Double(session.paths[$0.index].framesSent)
        }
        perPath("mptunnel_client_path_bytes_sent_total", "counter", "Frame bytes sent on the path.") {
            Double(session.paths[$0.index].bytesSent)
        }
        perPath("mptunnel_client_path_send_failures_total", "counter", "Sends the kernel refused on the path.") {
            Double($0.sendFailures)
        }
        perPath("mptunnel_client_path_frames_received_total", "counter", "Frames received on the path.") {
            Double(session.paths[$0.index].framesReceived)
        }
        perPath("mptunnel_client_path_bytes_received_total", "counter", "Frame bytes received on the path.") {
            Double(session.paths[$0.index].bytesReceived)
        }
        perPath("mptunnel_client_path_duplicates_total", "counter", "Copies dropped as duplicates on the path.") {
            Double(session.paths[$0.index].duplicatesReceived)
        }
        perPath("mptunnel_client_path_last_heard_seconds", "gauge", "Seconds since the path's last frame.") {
            session.paths[$0.index].lastReceive.map { seconds(now - $0) }
        }
        let summary: [(String, String, String, Double)] =
            [
                (
                    "mptunnel_client_session_accepted", "gauge", "1 once mpserver accepted the session.",
                    session.isAccepted ? 1 : 0
                ),
                ("mptunnel_client_paths_up", "gauge", "Paths up.", Double(session.upPaths.count)),
                ("mptunnel_client_flows", "gauge", "Application addresses with a flow.", Double(session.flowCount)),
                (
                    "mptunnel_client_payloads_delivered_total", "counter", "Payloads delivered to applications.",
                    Double(session.payloadsDelivered)
                ),
                (
                    "mptunnel_client_dropped_total", "counter", "Frames dropped, duplicates included.",
                    Double(session.drops.total)
                ),
                (
                    "mptunnel_client_application_send_failures_total", "counter", "Sends to applications refused.",
                    Double(applicationSendFailures)
                ),
            ] + fecMetrics(session.fecStatistics)
        for (name, type, help, value) in summary {
            page.metric(name, type, help: help)
            page.sample(name, value)
        }
        return page.text
    }
}

/// `mode fec`'s counters (zero in the other modes): parity overhead is
/// `parity_bytes_sent / data_bytes_sent`.
func fecMetrics(_ statistics: FECStatistics) -> [(String, String, String, Double)] {
    [
        ("mptunnel_client_fec_groups_sent_total", "counter", "Groups whose parity went out.", statistics.groupsSent),
        (
            "mptunnel_client_fec_parity_bytes_sent_total", "counter", "Bytes of the parity frames sent.",
            statistics.parityBytesSent
        ),
        (
            "mptunnel_client_fec_data_bytes_sent_total", "counter", "Bytes of the payload frames sent in groups.",
            statistics.dataBytesSent
        ),
        (
            "mptunnel_client_fec_groups_complete_total", "counter",
            "mpserver's groups whose every payload arrived or was rebuilt.", statistics.groupsComplete
        ),
        (
            "mptunnel_client_fec_payloads_rebuilt_total", "counter", "Payloads rebuilt from mpserver's parity.",
            statistics.payloadsRebuilt
        ),
        (
            "mptunnel_client_fec_groups_lost_total", "counter", "mpserver's groups given up with payloads missing.",
            statistics.groupsLost
        ),
    ].map { ($0.0, $0.1, $0.2, Double($0.3)) }
}

/// A span in seconds, as Prometheus wants durations.
func seconds(_ span: TimeSpan) -> Double { Double(span.nanoseconds) / 1e9 }
