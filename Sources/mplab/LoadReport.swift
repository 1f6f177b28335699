// What `mplab load` reports: counts, loss and round-trip percentiles, as text for people
// and as one JSON object for tests.

struct LoadReport {
    let settings: LoadSettings
    let sent: Int
    let sendFailures: Int
    /// Datagrams never tried because the loop fell behind the rate and gave up.
    let unsent: Int
    let tracker: LoadTracker
    let elapsedSeconds: Double

    var received: Int { tracker.received }
    /// Datagrams sent that never came back intact to their own socket.
    var lost: Int { max(0, sent - tracker.received) }
    var lossFraction: Double { ratio(lost, sent) }

    private var roundTrip: Percentiles { Percentiles(samples: tracker.roundTripMicroseconds) }

    var text: String {
        let percentiles = roundTrip
        var lines = [
            "load \(settings.target): \(sent) sent, \(received) received, \(percent(lossFraction)) lost, "
                + "\(tracker.duplicates) duplicates, \(tracker.corrupted) corrupted, "
                + "\(tracker.outOfOrder) out of order, \(tracker.misdelivered) misdelivered, "
                + "\(sendFailures) send failures" + (unsent > 0 ? ", \(unsent) not sent (too slow)" : "")
        ]
        if percentiles.isEmpty {
            lines.append("round trip: no samples" + (settings.size < LoadPayload.timedSize ? " (size below 16)" : ""))
        } else {
            lines.append(
                "round trip µs: p50 \(percentiles.value(at: 0.5)) p99 \(percentiles.value(at: 0.99)) "
                    + "p99.9 \(percentiles.value(at: 0.999)) max \(percentiles.value(at: 1))")
        }
        return lines.joined(separator: "\n")
    }

    var json: JSONValue {
        let percentiles = roundTrip
        return .object([
            ("target", .string(settings.target.description)), ("rate", .integer(settings.rate)),
            ("size", .integer(settings.size)), ("flows", .integer(settings.flows)),
            ("durationSeconds", .number(settings.durationSeconds)), ("sent", .integer(sent)),
            ("sendFailures", .integer(sendFailures)), ("unsent", .integer(unsent)), ("received", .integer(received)),
            ("arrivals", .integer(tracker.arrivals)), ("lost", .integer(lost)),
            ("lossPercent", .number(lossFraction * 100)), ("duplicates", .integer(tracker.duplicates)),
            ("corrupted", .integer(tracker.corrupted)), ("outOfOrder", .integer(tracker.outOfOrder)),
            ("misdelivered", .integer(tracker.misdelivered)),
            ("arrivalsOnly", .integer(tracker.countsArrivalsOnly ? 1 : 0)),
            ("rttSamples", .integer(tracker.roundTripMicroseconds.count)),
            (
                "rttMicroseconds",
                .object([
                    ("p50", .integer(Int(percentiles.value(at: 0.5)))),
                    ("p99", .integer(Int(percentiles.value(at: 0.99)))),
                    ("p999", .integer(Int(percentiles.value(at: 0.999)))),
                    ("max", .integer(Int(percentiles.value(at: 1)))),
                ])
            ),
        ])
    }
}
