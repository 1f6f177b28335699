// `mplab bench`: the tunnel's throughput, latency, CPU and memory beside a relay chain of
// the same length, on loopback, in one run; and optionally the sessions phase.
import ArgumentParser
import MPCore
import MPRuntime

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark mpclient and mpserver on loopback against a relay chain of the same length.",
        discussion: """
            For each datagram size, first the reference (load -> relay A -> bridge -> relay B -> \
            echo), then the tunnel (load -> mpclient -> N bridges -> mpserver -> echo) for each \
            path count and sealing; every hop is its own process (bridges, relays and the echo \
            target are `mplab relay` and `mplab echo`). For each case: round-trip times at \
            --latency-rate after 1 s of the same load, a tunnel's measured side by side with a \
            relay chain of its own carrying the same load at the same time (added p99 is the \
            difference, so a pause of the machine counts on both sides), in up to \
            --latency-rounds rounds, of which the one with the least host steal counts (the \
            first under 0.5% ends them); then the highest rate with under 1% loss, found with \
            fixed-length trials (doubling from --start-rate, then bisecting to 10%; a failed \
            trial is repeated once; at most --max-trials per case). CPU per datagram is user \
            plus system time from /proc over the fastest passing trial, divided by the \
            datagrams carried (each counted once each way). Then, unless --sessions 0, the \
            sessions phase of `mplab sessions`. Prints Markdown (or --json) on standard output, \
            progress on standard error. Everything started is stopped by PID.
            """)

    @Option(help: "Directory holding mpserver and mpclient (default: mplab's own directory).")
    var binaries: String?

    @Option(help: "Path counts to measure, comma-separated.", transform: parseIntegers)
    var paths: [Int] = [1, 3]

    @Option(help: "Datagram sizes in bytes, comma-separated (16-1400).", transform: parseIntegers)
    var sizes: [Int] = [64, 1_200]

    @Option(help: "keyless, sealed or both (comma-separated).", transform: parseSealings)
    var sealing: [BenchSealing] = BenchSealing.allCases

    @Option(
        help: """
            The cipher of sealed cases, chacha20-poly1305 or aes-256-gcm (default: the daemons' \
            own choice, the faster on this CPU).
            """, transform: parseCipher)
    var cipher: Cipher?

    @Option(name: .customLong("trial-seconds"), help: "Seconds of each rate trial.", transform: parseSeconds)
    var trialSeconds: Double = 2

    @Option(name: .customLong("max-trials"), help: "Rate trials per case at most (2-40).")
    var maximumTrials = 12

    @Option(name: .customLong("start-rate"), help: "First rate tried, datagrams per second.")
    var startRate = 10_000

    @Option(name: .customLong("max-rate"), help: "Highest rate tried, datagrams per second.")
    var maximumRate = 400_000

    @Option(name: .customLong("latency-rate"), help: "Datagrams per second of the round-trip measurement.")
    var latencyRate = 1_000

    @Option(
        name: .customLong("latency-seconds"), help: "Seconds of the round-trip measurement.", transform: parseSeconds)
    var latencySeconds: Double = 5

    @Option(
        name: .customLong("latency-rounds"),
        help: "Round-trip measurements per case at most; the first with under 0.5% host steal ends them.")
    var latencyRounds = 3

    @Option(help: "Concurrent sessions of the sessions phase (0 skips it).")
    var sessions = 1_000

    @Option(name: .customLong("session-rate"), help: "Payloads per second from each session.")
    var sessionRate = 2.0

    @Option(name: .customLong("session-seconds"), help: "Seconds of the sessions phase.", transform: parseSeconds)
    var sessionSeconds: Double = 10

    @Flag(help: "Print one JSON object instead of Markdown.")
    var json = false

    @Flag(help: "Keep the temporary directory with configs, keys and the children's logs.")
    var keepLogs = false

    func validate() throws {
        try check(maximumTrials, in: 2...40, flag: "--max-trials")
        try check(startRate, in: BenchSearchSettings.minimumRate...1_000_000, flag: "--start-rate")
        try check(maximumRate, in: startRate...1_000_000, flag: "--max-rate")
        try check(latencyRate, in: 1...100_000, flag: "--latency-rate")
        try check(latencyRounds, in: 1...20, flag: "--latency-rounds")
        try check(sessions, in: 0...Defaults.maximumSessions, flag: "--sessions")
        for size in sizes { try check(size, in: LoadPayload.timedSize...1_400, flag: "--sizes") }
        for count in paths { try check(count, in: 1...Defaults.maximumPaths, flag: "--paths") }
    }

    func run() throws {
        let workspace = try DemoWorkspace.make(binaryDirectory: binaries, prefix: "mplab-bench")
        // Kept after a failure, for the children's logs; removed after success unless --keep-logs.
        var keepDirectory = true
        defer {
            if keepDirectory || keepLogs {
                warn("mplab bench: logs in \(workspace.directory)")
            } else {
                workspace.remove()
            }
        }
        let lab = try LabLoop()
        let run = BenchRun(command: self, workspace: workspace, lab: lab)
        let report = try run.run()
        emit(json ? report.json.rendered : report.markdown)
        keepDirectory = false
    }
}

/// Parses `1,3`.
func parseIntegers(_ text: String) throws -> [Int] {
    let values = text.split(separator: ",").compactMap { Int($0) }
    guard !values.isEmpty, values.count == text.split(separator: ",", omittingEmptySubsequences: false).count else {
        throw LabError("`\(text)' is not a comma-separated list of numbers")
    }
    return values
}

/// Parses `aes-256-gcm`.
func parseCipher(_ text: String) throws -> Cipher {
    guard let cipher = Cipher(rawValue: text) else {
        throw LabError("`\(text)' is not a cipher: \(Cipher.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return cipher
}
