// The demonstration's table: what each relay dropped each way, and what the tunnel lost
// beside what independent drops predict (one way, a datagram is lost only when every
// path drops its copy: the product of the drop rates).
import MPRuntime

struct DemoReport {
    struct Path {
        let relay: SocketAddress
        let drop: Double
        let up: DirectionCounters
        let down: DirectionCounters
    }

    let paths: [Path]
    let load: LoadReport
    /// Datagrams that reached the echo target, and that it sent back, during the load.
    let reachedTarget: Int
    let echoed: Int
    /// Of those that reached the target, how many came after one sent later.
    let outOfOrderAtTarget: Int
    /// Of the echoes that came back, how many came after one the target sent later, and of
    /// how many (only where the run recorded the orders).
    var outOfOrderDown: (count: Int, of: Int)? = nil

    /// Expected one-way loss: every path must drop the datagram.
    var expectedOneWayLoss: Double {
        paths.reduce(1) { $0 * $1.drop }
    }

    var text: String {
        var lines = [
            row("path", "relay", "drop", "up in", "up dropped", "up rate", "down in", "down dropped", "down rate")
        ]
        for (index, path) in paths.enumerated() {
            lines.append(
                row(
                    "\(index + 1)", path.relay.description, percent(path.drop, digits: 1),
                    "\(path.up.received)", "\(path.up.dropped)", percent(ratio(path.up.dropped, path.up.received)),
                    "\(path.down.received)", "\(path.down.dropped)",
                    percent(ratio(path.down.dropped, path.down.received))))
        }
        lines.append("")
        lines += tunnelLines
        return lines.joined(separator: "\n")
    }

    private var tunnelLines: [String] {
        let expected = expectedOneWayLoss
        let expectedRoundTrip = 1 - (1 - expected) * (1 - expected)
        let formula = paths.map { String($0.drop) }.joined(separator: " x ")
        let tracker = load.tracker
        let percentiles = Percentiles(samples: tracker.roundTripMicroseconds)
        return [
            row("tunnel", "", "", "sent", "arrived", "lost", "expected"),
            row(
                "", "up (to target)", "", "\(load.sent)", "\(reachedTarget)", lossText(load.sent, reachedTarget),
                percent(expected)),
            row(
                "", "down (back)", "", "\(echoed)", "\(load.received)", lossText(echoed, load.received),
                percent(expected)),
            row(
                "", "round trip", "", "\(load.sent)", "\(load.received)", percent(load.lossFraction),
                percent(expectedRoundTrip)),
            "",
            "expected one-way loss \(formula) = \(percent(expected)); round trip 1 - (1 - p)^2 = "
                + percent(expectedRoundTrip),
            "duplicates \(tracker.duplicates), corrupted \(tracker.corrupted), out of order \(tracker.outOfOrder), "
                + "send failures \(load.sendFailures); round trip µs p50 \(percentiles.value(at: 0.5)) "
                + "p99 \(percentiles.value(at: 0.99)) p99.9 \(percentiles.value(at: 0.999))",
        ]
    }

    private func lossText(_ sent: Int, _ arrived: Int) -> String {
        percent(ratio(max(0, sent - arrived), sent))
    }

    /// Columns: a narrow first one, a wide second one, the rest right-aligned.
    private func row(_ columns: String...) -> String {
        columns.enumerated().map { index, text in
            switch index {
            case 0: return text.padding(toLength: 7)
            case 1: return text.padding(toLength: 17)
            default: return String(repeating: " ", count: max(0, 13 - text.count)) + text
            }
        }.joined()
    }
}

extension String {
    /// The string left-aligned in `length` columns.
    fileprivate func padding(toLength length: Int) -> String {
        self + String(repeating: " ", count: max(1, length - count))
    }
}
