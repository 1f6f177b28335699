// `mplab fec`: forward error correction's figures on loopback (issue 17). Each row starts
// three mplab relays as links, mpserver and an mpclient in the row's mode as children, and
// sends the load through the tunnel to an echo target: what each direction lost, what was
// delivered, the bytes the paths carried per payload, the payloads rebuilt from parity (the
// daemons' status), the round trip's percentiles and the daemons' CPU time per payload.
import ArgumentParser
import Glibc
import MPCore
import MPRuntime

struct FECCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fec",
        abstract: "Measure mode fec beside duplicate mode over three lossy, dying or rate-limited links.",
        discussion: """
            Rows (--rows, comma-separated; all by default), each in every mode of --modes:
              lossy    three links dropping 10% each way independently, 1,000/s
              kill     three clean links, 1,000/s; one link drops everything after half the time
              rate     three links of 500/s each way, 1,000/s offered
              clean    three clean links, 1,000/s: the round trip of payloads never rebuilt
              cpu      three clean links, 5,000/s: the daemons' CPU time per payload
              delay    three clean links of 10 ms each way, 1,000/s: the round trip to beat
              rebuild  the same, but one link drops every upstream payload frame (parity, probes \
            and reports pass): in fec mode a third of the payloads are rebuilt by mpserver, and \
            the round trip (up rebuilt or not, down clean) shows what rebuilding adds: at most \
            fec-timeout (5 ms) plus one path's delay one way, 25 ms a round trip with the delay \
            back

            Modes (--modes): duplicate, fec-4-2, fec-8-4 (all by default), and balance on \
            request. Each row starts new \
            daemons (found next to mplab, or in --binaries), waits until the tunnel answers, \
            sends 2 s of load so that mpserver mirrors the mode, then measures --seconds of load. \
            Loss up is what did not reach the echo target, loss down what it sent back that did \
            not return; bytes per payload are what the three links received each way over the \
            payloads sent; rebuilt is the share of payloads sent that the daemons' status counts \
            rebuilt from parity. Progress goes to standard error, the table to standard output.
            """)

    @Option(help: "Rows to run, comma-separated (default: all).", transform: parseFECRows)
    var rows: [FECRow] = FECRow.all

    @Option(help: "Modes to run, comma-separated (default: all).", transform: parseFECModes)
    var modes: [FECMode] = FECMode.all

    @Option(help: "Seconds of measured load per row.")
    var seconds = 20

    @Option(help: "Bytes per datagram (16-\(Defaults.maximumPayload)).")
    var size = 1_200

    @Option(help: "Directory holding mpserver and mpclient (default: mplab's own directory).")
    var binaries: String?

    @Option(
        help: """
            Rounds of every row and mode, one after the other (every other round in the reverse \
            order); with more than one, each mode's CPU per payload over duplicate mode's of the \
            same round, and its round trip p99 less duplicate mode's, follow the table.
            """)
    var rounds = 1

    @Flag(help: "Keep the temporary directory with mpclient.conf and the daemons' logs.")
    var keepLogs = false

    @Flag(help: "Print one JSON object per row and mode instead of the table.")
    var json = false

    func validate() throws {
        try check(seconds, in: 2...600, flag: "--seconds")
        try check(rounds, in: 1...20, flag: "--rounds")
        try check(size, in: LoadPayload.timedSize...Defaults.maximumPayload, flag: "--size")
    }

    func run() throws {
        var results: [FECResult] = []
        for round in 1...rounds {
            for row in rows {
                // Every other round the other way round, so that a drift of the machine
                // during a round weighs on every mode alike.
                for mode in round % 2 == 1 ? modes : modes.reversed() {
                    warn("mplab fec: \(row.name), \(mode.name), round \(round): \(row.title), \(row.offered)/s offered")
                    let result = try measure(row, mode: mode)
                    warn("mplab fec: \(row.name), \(mode.name): \(result.summary)")
                    results.append(result)
                }
            }
        }
        if json {
            for result in results { emit(result.json) }
        } else {
            emit(FECResult.table(results))
            if rounds > 1 { emit(FECResult.roundComparisons(results, rows: rows, modes: modes)) }
        }
    }

    private func measure(_ row: FECRow, mode: FECMode) throws -> FECResult {
        let workspace = try DemoWorkspace.make(binaryDirectory: binaries, prefix: "mplab-fec")
        let children = ChildGroup()
        var keepDirectory = true
        defer {
            children.stopAll()
            if keepDirectory || keepLogs {
                warn("mplab fec: logs in \(workspace.directory)")
            } else {
                workspace.remove()
            }
        }
        let lab = try LabLoop()
        let sockets = FECStatusSockets(directory: workspace.directory)
        let run = try DemoRun(
            workspace: workspace, children: children, lab: lab, links: row.links,
            clientLines: [mode.configLine, "status-socket \(sockets.client)"],
            serverArguments: ["--status-socket", sockets.server])
        do {
            _ = try run.start(timeout: 10)
            let warmUp = LoadSettings(
                target: run.clientAddress, rate: row.offered, size: size, durationSeconds: 2, flows: 1)
            _ = try run.measure(warmUp)
            let load = LoadSettings(
                target: run.clientAddress, rate: row.offered, size: size, durationSeconds: Double(seconds), flows: 1)
            let rebuiltBefore = sockets.rebuilt()
            let before = CPUSample(run.daemons)
            let report = try run.measure(load, eventAfter: row.killsLink ? Double(seconds) / 2 : nil) {
                run.kill(relay: 1)
            }
            let cpu = CPUSample(run.daemons).since(before).cpu.values.reduce(0, +)
            let rebuiltAfter = sockets.rebuilt()
            keepDirectory = false
            return FECResult(
                row: row, mode: mode, report: report, seconds: Double(seconds), cpuSeconds: cpu,
                rebuilt: (rebuiltAfter.up - rebuiltBefore.up, rebuiltAfter.down - rebuiltBefore.down))
        } catch let exit as ExitCode {
            keepDirectory = false
            throw exit
        } catch {
            throw LabError("\(error)\(run.childStates)")
        }
    }
}

/// A mode of mpclient.conf to measure.
struct FECMode: Sendable {
    let name: String
    let configLine: String

    static let all = [
        FECMode(name: "duplicate", configLine: "mode duplicate"),
        FECMode(name: "fec-4-2", configLine: "mode fec 4:2"),
        FECMode(name: "fec-8-4", configLine: "mode fec 8:4"),
    ]

    /// Also balance mode, on request: one path per payload like fec, without parity, so fec's
    /// CPU over balance's is the coding's own cost.
    static let known = all + [FECMode(name: "balance", configLine: "mode balance")]
}

/// One row of the table: three links and the load offered.
struct FECRow: Sendable {
    let name: String
    let title: String
    let drop: Double
    let rate: Int
    let offered: Int
    let killsLink: Bool
    /// One-way delay of every link.
    var delay = TimeSpan(nanoseconds: 0)
    /// Whether link 1 drops every upstream payload frame (and nothing else).
    var dropsPayloads = false

    /// The relays' rate: `rate` datagrams a second, or unlimited at 0.
    var relayRate: RateCap? { rate > 0 ? .datagramsPerSecond(Double(rate)) : nil }

    var links: [(up: RelayLinkSettings, down: RelayLinkSettings)] {
        (0..<3).map { index in
            let down = RelayLinkSettings(dropProbability: drop, delay: delay, rate: relayRate)
            var up = down
            up.dropsPayloadFrames = dropsPayloads && index == 1
            return (up, down)
        }
    }

    static let all = [
        FECRow(
            name: "lossy", title: "3 links, 10% loss each way", drop: 0.1, rate: 0, offered: 1_000, killsLink: false),
        FECRow(name: "kill", title: "3 clean links, one killed", drop: 0, rate: 0, offered: 1_000, killsLink: true),
        FECRow(name: "rate", title: "3 links of 500/s", drop: 0, rate: 500, offered: 1_000, killsLink: false),
        FECRow(name: "clean", title: "3 clean links", drop: 0, rate: 0, offered: 1_000, killsLink: false),
        FECRow(name: "cpu", title: "3 clean links, 5,000/s", drop: 0, rate: 0, offered: 5_000, killsLink: false),
        FECRow(
            name: "delay", title: "3 clean links of 10 ms", drop: 0, rate: 0, offered: 1_000, killsLink: false,
            delay: .milliseconds(10)),
        FECRow(
            name: "rebuild", title: "3 links of 10 ms, one drops payloads", drop: 0, rate: 0, offered: 1_000,
            killsLink: false, delay: .milliseconds(10), dropsPayloads: true),
    ]
}

/// What one row measured in one mode.
struct FECResult {
    let row: FECRow
    let mode: FECMode
    let report: DemoReport
    let seconds: Double
    /// CPU seconds of mpclient and mpserver together during the measured load.
    let cpuSeconds: Double
    /// Payloads rebuilt during the measured load: by mpserver (up) and mpclient (down).
    let rebuilt: (up: Int, down: Int)

    var sent: Int { report.load.sent }
    var lostUp: Double { ratio(max(sent - report.reachedTarget, 0), sent) }
    var lostDown: Double { ratio(max(report.echoed - report.load.received, 0), report.echoed) }
    var deliveredUp: Double { Double(report.reachedTarget) / seconds }
    var bytesUpPerPayload: Double { Double(report.paths.reduce(0) { $0 + $1.up.bytesReceived }) / Double(max(sent, 1)) }
    var bytesDownPerPayload: Double {
        Double(report.paths.reduce(0) { $0 + $1.down.bytesReceived }) / Double(max(report.echoed, 1))
    }
    var rebuiltUp: Double { ratio(rebuilt.up, sent) }
    var rebuiltDown: Double { ratio(rebuilt.down, report.echoed) }
    var roundTrip: Percentiles { Percentiles(samples: report.load.tracker.roundTripMicroseconds) }
    /// Microseconds of both daemons' CPU per payload (each payload crosses both, both ways).
    var cpuPerPayload: Double { cpuSeconds * 1e6 / Double(max(sent, 1)) }

    var summary: String {
        "lost up \(percent(lostUp)), down \(percent(lostDown)), delivered \(Int(deliveredUp))/s up, "
            + "\(Int(bytesUpPerPayload)) B up and \(Int(bytesDownPerPayload)) B down on the paths per payload, "
            + "rebuilt \(percent(rebuiltUp)) up and \(percent(rebuiltDown)) down, "
            + "round trip p50 \(roundTrip.value(at: 0.5)) µs p99 \(roundTrip.value(at: 0.99)) µs "
            + "max \(roundTrip.value(at: 1)) µs, "
            + "CPU \(Int(cpuPerPayload.rounded())) µs per payload"
    }

    /// One line of JSON: the row's and mode's names and figures (shares 0-1).
    var json: String {
        let fields: [(String, Double)] = [
            ("offered", Double(row.offered)), ("sent", Double(sent)), ("lostUp", lostUp), ("lostDown", lostDown),
            ("deliveredUp", deliveredUp), ("bytesUpPerPayload", bytesUpPerPayload),
            ("bytesDownPerPayload", bytesDownPerPayload), ("rebuiltUp", rebuiltUp), ("rebuiltDown", rebuiltDown),
            ("rttP50", Double(roundTrip.value(at: 0.5))),
            ("rttP99", Double(roundTrip.value(at: 0.99))), ("rttMax", Double(roundTrip.value(at: 1))),
            ("cpuMicrosecondsPerPayload", cpuPerPayload),
        ]
        let numbers = fields.map { "\"\($0)\":\($1)" }.joined(separator: ",")
        return "{\"row\":\"\(row.name)\",\"mode\":\"\(mode.name)\",\(numbers)}"
    }

    static func table(_ results: [FECResult]) -> String {
        var lines = [
            "| links | mode | offered | lost up | lost down | delivered up/s | bytes up/payload | bytes down/payload | rebuilt up / down | rtt p50 µs | rtt p99 µs | CPU µs/payload |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for result in results {
            let percentiles = result.roundTrip
            lines.append(
                "| \(result.row.title) | \(result.mode.name) | \(result.row.offered)/s | \(percent(result.lostUp)) "
                    + "| \(percent(result.lostDown)) | \(Int(result.deliveredUp)) | \(Int(result.bytesUpPerPayload)) "
                    + "| \(Int(result.bytesDownPerPayload)) | \(percent(result.rebuiltUp)) / \(percent(result.rebuiltDown)) "
                    + "| \(percentiles.value(at: 0.5)) "
                    + "| \(percentiles.value(at: 0.99)) | \((result.cpuPerPayload * 10).rounded() / 10) |")
        }
        return lines.joined(separator: "\n")
    }
}

private func parseFECRows(_ text: String) throws -> [FECRow] {
    try text.split(separator: ",").map { name in
        guard let row = FECRow.all.first(where: { $0.name == name }) else {
            throw LabError("unknown row `\(name)': expected \(FECRow.all.map(\.name).joined(separator: ", "))")
        }
        return row
    }
}

private func parseFECModes(_ text: String) throws -> [FECMode] {
    try text.split(separator: ",").map { name in
        guard let mode = FECMode.known.first(where: { $0.name == name }) else {
            throw LabError("unknown mode `\(name)': expected \(FECMode.known.map(\.name).joined(separator: ", "))")
        }
        return mode
    }
}
