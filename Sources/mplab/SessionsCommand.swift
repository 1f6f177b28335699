// `mplab sessions`: one mpserver, many concurrent sessions, every one of them checked.
import ArgumentParser
import MPCore
import MPRuntime

struct SessionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "Run one mpserver with many concurrent sessions and check that every one forwards.",
        discussion: """
            Starts mpserver (found next to mplab, or in --binaries) in front of an echo target, \
            and simulates --count mpclients in this process: each is MPCore's ClientSession (the \
            engine mpclient runs) with its own socket. Each session sends --rate-per-session \
            payloads a second for --duration seconds; the report gives the echoes each session \
            got back (minimum, median, maximum), and mpserver's resident memory with one session \
            and with all of them, per session. Runs keyless, sealed (a fresh key) or both.
            """)

    @Option(help: "Concurrent sessions (1-4096, mpserver's limit).")
    var count = 1_000

    @Option(name: .customLong("rate-per-session"), help: "Payloads per second from each session (0.1-100).")
    var ratePerSession = 2.0

    @Option(help: "Seconds of load.", transform: parseSeconds)
    var duration: Double = 10

    @Option(help: "Bytes per payload (8-1400).")
    var size = 64

    @Option(help: "keyless, sealed or both (comma-separated).", transform: parseSealings)
    var sealing: [BenchSealing] = BenchSealing.allCases

    @Option(help: "Directory holding mpserver (default: mplab's own directory).")
    var binaries: String?

    @Flag(help: "Print one JSON object per sealing instead of text.")
    var json = false

    func validate() throws {
        try check(count, in: 1...Defaults.maximumSessions, flag: "--count")
        try check(size, in: 8...1_400, flag: "--size")
        guard (0.1...100).contains(ratePerSession) else {
            throw ValidationError("--rate-per-session `\(ratePerSession)' is out of range 0.1-100")
        }
    }

    func run() throws {
        let workspace = try DemoWorkspace.make(binaryDirectory: binaries, prefix: "mplab-sessions")
        defer { workspace.remove() }
        let lab = try LabLoop()
        let settings = SessionsSettings(count: count, ratePerSession: ratePerSession, seconds: duration, size: size)
        for mode in sealing {
            warn("mplab sessions: \(count) sessions, \(mode.rawValue), \(ratePerSession)/s each for \(duration) s")
            let result = try SessionsRun(settings: settings, workspace: workspace, lab: lab).run(sealing: mode)
            emit(json ? result.json.rendered : result.summary)
        }
    }
}

/// Parses `keyless`, `sealed` or `keyless,sealed`.
func parseSealings(_ text: String) throws -> [BenchSealing] {
    try text.split(separator: ",").map {
        guard let mode = BenchSealing(rawValue: String($0)) else {
            throw LabError("`\($0)' in `\(text)' is neither keyless nor sealed")
        }
        return mode
    }
}
