// `mplab balance`: balance mode's table on loopback. For each row, two mplab relays are
// links of fixed capacity (datagrams per second, per direction, a 50 ms drop-tail queue),
// mpserver and an mpclient in `mode balance` run as children, and the load goes through the
// tunnel to an echo target: what each direction lost, what was delivered, how much came
// back out of order (at the target on the way up, and of the echoes back).
import ArgumentParser
import Glibc
import MPCore
import MPLabSupport
import MPRuntime

struct BalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance",
        abstract: "Measure balance mode over pairs of rate-limited links (the table of BENCHMARKS.md).",
        discussion: """
            Rows (--rows, comma-separated; all by default):
              equal        500 + 500/s, 900/s offered
              unequal      1,000 + 100/s, 900/s offered (less than the fast link alone)
              nearly-full  1,000 + 100/s, 1,050/s offered (95% of the sum)
              slow-longer  600 + 200/s, the slow link 20 ms longer, 750/s offered
              asymmetric   1,000 up/100 down + 100 up/1,000 down, 900/s offered
              slows-down   1,000 + 1,000/s, 1,000/s offered; one link drops to 300/s after 10 s
                           and the 5 s after that are measured

            --links lines makes each link a line of bits per second instead (mplab relay --rate \
            ...mbit), as fast as N full-size frames a second (--size bytes, the frame header, IP \
            and UDP: 1,260 bytes for 1,200), where a report or probe takes its own bytes' time; \
            with the default, --links datagrams, every datagram takes a full-size frame's time.

            Each row starts new daemons (found next to mplab, or in --binaries), waits until the \
            tunnel answers, sends 2 s of load so that mpserver mirrors balance mode, then \
            measures --seconds of load (slows-down: 10 s, then the 5 s after the drop). Loss up \
            is what did not reach the echo target; loss down what it sent back that did not \
            return. Progress goes to standard error, the table to standard output.
            """)

    @Option(help: "Rows to run, comma-separated (default: all).", transform: parseRows)
    var rows: [BalanceRow] = BalanceRow.all

    @Option(help: "Seconds of measured load per row (slows-down always measures 5 s after 10 s).")
    var seconds = 20

    @Option(help: "Bytes per datagram (16-\(Defaults.maximumPayload)).")
    var size = 1_200

    @Option(help: "What the rows' rates count: datagrams (every datagram takes 1/N s) or lines (bits per second).")
    var links = BalanceLinks.datagrams

    @Option(help: "Directory holding mpserver and mpclient (default: mplab's own directory).")
    var binaries: String?

    @Flag(help: "Keep the temporary directory with mpclient.conf and the daemons' logs.")
    var keepLogs = false

    @Flag(help: "Print one JSON object per row instead of the table.")
    var json = false

    func validate() throws {
        try check(seconds, in: 1...600, flag: "--seconds")
        try check(size, in: LoadPayload.sequencedSize...Defaults.maximumPayload, flag: "--size")
    }

    func run() throws {
        var results: [(BalanceRow, BalanceResult)] = []
        for (index, row) in rows.enumerated() {
            warn("mplab balance: row \(index + 1)/\(rows.count): \(row.title), \(row.offered)/s offered")
            let result = try measure(row)
            warn("mplab balance: \(row.name): \(result.summary)")
            results.append((row, result))
        }
        if json {
            for (row, result) in results { emit(result.json(row: row, links: links)) }
        } else {
            emit(BalanceResult.table(results, links: links))
        }
    }

    private func measure(_ row: BalanceRow) throws -> BalanceResult {
        let workspace = try DemoWorkspace.make(binaryDirectory: binaries, prefix: "mplab-balance")
        let children = ChildGroup()
        var keepDirectory = true
        defer {
            children.stopAll()
            if keepDirectory || keepLogs {
                warn("mplab balance: logs in \(workspace.directory)")
            } else {
                workspace.remove()
            }
        }
        let lab = try LabLoop()
        let run = try DemoRun(
            workspace: workspace, children: children, lab: lab, links: row.links(links, size: size),
            clientLines: ["mode balance"])
        do {
            _ = try run.start(timeout: 10)
            let warmUp = LoadSettings(
                target: run.clientAddress, rate: row.offered, size: size, durationSeconds: 2, flows: 1)
            _ = try run.measure(warmUp)
            let result: BalanceResult
            if let change = row.change {
                let seconds = change.after + 5
                let load = LoadSettings(
                    target: run.clientAddress, rate: row.offered, size: size, durationSeconds: Double(seconds),
                    flows: 1, recordsArrivalOrder: true)
                var failure: Error?
                let report = try run.measure(load, eventAfter: Double(change.after)) {
                    do {
                        try run.setRate(links.rate(change.rate, size: size), relay: change.relay)
                    } catch {
                        failure = error
                    }
                }
                if let failure { throw failure }
                result = BalanceResult(report: report, seconds: Double(seconds), measuredFrom: change.after)
            } else {
                let load = LoadSettings(
                    target: run.clientAddress, rate: row.offered, size: size, durationSeconds: Double(seconds),
                    flows: 1, recordsArrivalOrder: true)
                result = BalanceResult(report: try run.measure(load), seconds: Double(seconds), measuredFrom: nil)
            }
            keepDirectory = false
            return result
        } catch let exit as ExitCode {
            keepDirectory = false
            throw exit
        } catch {
            throw LabError("\(error)\(run.childStates)")
        }
    }
}

/// What a row's rate of N counts (`--links`).
enum BalanceLinks: String, ExpressibleByArgument, CaseIterable {
    /// N datagrams a second, whatever their size.
    case datagrams
    /// A line of the bits per second that carries N full-size frames a second.
    case lines

    /// The relay's rate for a row's `count` with payloads of `size` bytes.
    func rate(_ count: Int, size: Int) -> RateCap {
        switch self {
        case .datagrams: .datagramsPerSecond(Double(count))
        case .lines:
            .bitsPerSecond(Double(count * (size + FrameLayout.headerSize + RelayRateLimiter.headerBytes) * 8))
        }
    }
}

/// One row of the table: two links and the load offered.
struct BalanceRow: Sendable {
    let name: String
    let title: String
    /// Datagrams per second (up, down) and extra one-way delay of each link.
    let rates: [(up: Int, down: Int)]
    let delays: [Int]
    let offered: Int
    /// A link whose rate changes during the load: which, after how many seconds, to what.
    let change: (relay: Int, after: Int, rate: Int)?

    /// The relays' settings, with rates of `kind` for frames of `size` bytes of payload.
    func links(_ kind: BalanceLinks, size: Int) -> [(up: RelayLinkSettings, down: RelayLinkSettings)] {
        zip(rates, delays).map { rate, delay in
            let span = TimeSpan.milliseconds(UInt64(delay))
            return (
                RelayLinkSettings(delay: span, rate: kind.rate(rate.up, size: size)),
                RelayLinkSettings(delay: span, rate: kind.rate(rate.down, size: size))
            )
        }
    }

    static let all = [
        BalanceRow(
            name: "equal", title: "500 + 500", rates: [(500, 500), (500, 500)], delays: [0, 0], offered: 900,
            change: nil),
        BalanceRow(
            name: "unequal", title: "1,000 + 100", rates: [(1_000, 1_000), (100, 100)], delays: [0, 0], offered: 900,
            change: nil),
        BalanceRow(
            name: "nearly-full", title: "1,000 + 100", rates: [(1_000, 1_000), (100, 100)], delays: [0, 0],
            offered: 1_050, change: nil),
        BalanceRow(
            name: "slow-longer", title: "600 + 200, the slow one +20 ms", rates: [(600, 600), (200, 200)],
            delays: [0, 20], offered: 750, change: nil),
        BalanceRow(
            name: "asymmetric", title: "1,000 up/100 down + 100 up/1,000 down", rates: [(1_000, 100), (100, 1_000)],
            delays: [0, 0], offered: 900, change: nil),
        BalanceRow(
            name: "slows-down", title: "1,000 + 1,000, one drops to 300 at 10 s",
            rates: [(1_000, 1_000), (1_000, 1_000)],
            delays: [0, 0], offered: 1_000, change: (relay: 1, after: 10, rate: 300)),
    ]
}

/// What one row measured.
struct BalanceResult {
    let report: DemoReport
    let seconds: Double
    /// For a row with a change: the second from which loss is counted.
    let measuredFrom: Int?

    var sent: Int { report.load.sent }
    var lostUp: Double { ratio(max(sent - report.reachedTarget, 0), sent) }
    var lostDown: Double { ratio(max(report.echoed - report.load.received, 0), report.echoed) }
    /// Round-trip loss over the measured part (after the change, for such a row).
    var lostMeasured: Double {
        guard let measuredFrom else { return report.load.lossFraction }
        let first = UInt64(Double(sent) * Double(measuredFrom) / seconds)
        let range = first..<UInt64(sent)
        return ratio(range.count - report.load.tracker.receivedCount(in: range), range.count)
    }
    var deliveredUp: Double { Double(report.reachedTarget) / seconds }
    var deliveredDown: Double { Double(report.load.received) / seconds }
    /// Out of order on the way up (at the target), and on the round trip (the echoes back).
    var outOfOrderUp: Double { ratio(report.outOfOrderAtTarget, report.reachedTarget) }
    var outOfOrder: Double { ratio(report.load.tracker.outOfOrder, report.load.received) }
    /// Out of order on the way back alone: echoes that came back after one the target sent
    /// later.
    var outOfOrderDown: Double { report.outOfOrderDown.map { ratio($0.count, $0.of) } ?? 0 }

    var summary: String {
        "lost up \(percent(lostUp)), down \(percent(lostDown))"
            + (measuredFrom.map { ", round trip after \($0) s \(percent(lostMeasured))" } ?? "")
            + ", delivered \(Int(deliveredUp))/s up, \(Int(deliveredDown))/s down, "
            + "out of order \(percent(outOfOrderUp)) up, \(percent(outOfOrderDown)) down, "
            + "\(percent(outOfOrder)) round trip"
    }

    /// One line of JSON: the row's name and figures (shares 0-1, rates per second).
    func json(row: BalanceRow, links: BalanceLinks) -> String {
        let fields: [(String, Double)] = [
            ("lostUp", lostUp), ("lostDown", lostDown), ("lostAfterChange", lostMeasured),
            ("deliveredUp", deliveredUp), ("deliveredDown", deliveredDown), ("outOfOrderUp", outOfOrderUp),
            ("outOfOrderDown", outOfOrderDown), ("outOfOrder", outOfOrder),
        ]
        let numbers = fields.map { "\"\($0)\":\($1)" }.joined(separator: ",")
        return "{\"row\":\"\(row.name)\",\"links\":\"\(links.rawValue)\",\"offered\":\(row.offered),\(numbers)}"
    }

    static func table(_ rows: [(BalanceRow, BalanceResult)], links: BalanceLinks) -> String {
        let unit = links == .datagrams ? "datagrams/s" : "full-size frames/s on a line"
        var lines = [
            "| links (\(unit)) | offered | lost up | lost down | lost after the change | delivered up/s | delivered down/s | out of order up | down | round trip |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for (row, result) in rows {
            let after = result.measuredFrom == nil ? "" : percent(result.lostMeasured)
            lines.append(
                "| \(row.title) | \(row.offered)/s | \(percent(result.lostUp)) | \(percent(result.lostDown)) | \(after) "
                    + "| \(Int(result.deliveredUp)) | \(Int(result.deliveredDown)) | \(percent(result.outOfOrderUp)) "
                    + "| \(percent(result.outOfOrderDown)) | \(percent(result.outOfOrder)) |")
        }
        return lines.joined(separator: "\n")
    }
}

private func parseRows(_ text: String) throws -> [BalanceRow] {
    try text.split(separator: ",").map { name in
        guard let row = BalanceRow.all.first(where: { $0.name == name }) else {
            throw LabError(
                "unknown row `\(name)': expected \(BalanceRow.all.map(\.name).joined(separator: ", "))")
        }
        return row
    }
}
