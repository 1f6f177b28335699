// `mplab demo`: the README's loopback demonstration. One event loop runs the echo target,
// the lossy relays and the load; mpserver and mpclient run as child processes:
//
//   load -> mpclient -> relay 1..N (lossy) -> mpserver -> echo, and the same way back.
import ArgumentParser
import Glibc
import MPCore
import MPLabSupport
import MPRuntime

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run mpclient and mpserver on loopback through lossy relays and measure the loss.",
        discussion: """
            Starts mpserver and mpclient (found next to mplab, or in --binaries) with an echo \
            target and one lossy relay per --drop value, waits until the tunnel answers, sends \
            load through it, and prints each relay's measured drop rates beside the tunnel's \
            loss and the expected loss: a datagram is lost one way only when every path drops \
            it (0.1 x 0.2 x 0.3 = 0.6%). Children are stopped by PID (SIGTERM, then SIGKILL \
            after 2 s) at the end, on error and on SIGINT. Their logs are in a temporary \
            directory, printed on failure and kept with --keep-logs.
            """)

    @Option(help: "Datagrams per second (1-1000000).")
    var rate = 1_000

    @Option(help: "Seconds of load.", transform: parseSeconds)
    var duration: Double = 5

    @Option(help: "Bytes per datagram (16-\(Defaults.maximumPayload)).")
    var size = 1_200

    @Option(
        help: "Drop probability of each relay, comma-separated: one path per value (default: 0.1,0.2,0.3).",
        transform: parseProbabilities)
    var drop: [Double] = [0.1, 0.2, 0.3]

    @Option(help: "Seconds to wait for the tunnel's first answer.", transform: parseSeconds)
    var startTimeout: Double = 10

    @Option(help: "Directory holding mpserver and mpclient (default: mplab's own directory).")
    var binaries: String?

    @Flag(help: "Keep the temporary directory with mpclient.conf and the daemons' logs.")
    var keepLogs = false

    func validate() throws {
        try check(rate, in: 1...1_000_000, flag: "--rate")
        try check(size, in: LoadPayload.timedSize...Defaults.maximumPayload, flag: "--size")
    }

    func run() throws {
        let workspace = try DemoWorkspace.make(binaryDirectory: binaries)
        let children = ChildGroup()
        // Kept after a failure, for its logs; removed after success or SIGINT unless --keep-logs.
        var keepDirectory = true
        defer {
            children.stopAll()
            if keepDirectory || keepLogs {
                warn("mplab demo: logs in \(workspace.directory)")
            } else {
                workspace.remove()
            }
        }
        let lab = try LabLoop()
        let demo = try DemoRun(workspace: workspace, children: children, lab: lab, drops: drop)
        do {
            let seconds = try demo.start(timeout: startTimeout)
            emit(
                "mplab demo: tunnel answered after \(seconds) s; \(rate) datagrams/s of \(size) bytes for \(duration) s"
            )
            let load = LoadSettings(
                target: demo.clientAddress, rate: rate, size: size, durationSeconds: duration, flows: 1)
            emit(try demo.measure(load).text)
            keepDirectory = false
        } catch let exit as ExitCode {
            keepDirectory = false
            throw exit
        } catch {
            throw LabError("\(error)\(demo.childStates)")
        }
    }
}
