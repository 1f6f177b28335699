// `mplab load`: drives datagrams through whatever listens at --to (mpclient, a relay, an
// echo target) and checks what comes back.
import ArgumentParser
import MPCore
import MPRuntime

struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Send datagrams at a steady rate, check their echoes, report loss and round-trip time.",
        discussion: """
            Each datagram carries a 64-bit sequence number (sizes from 8 bytes), its send time \
            (from 16 bytes) and a pattern derived from the sequence number, so corrupted, \
            duplicated, reordered and misdelivered echoes are told apart. Sizes below 8 are \
            counted by arrival only. With --flows N, datagrams go round-robin from N sockets \
            (N application addresses) and each socket must get back only its own.

            After the duration it waits up to 1 s for stragglers. Exits 0 whatever the loss: \
            the caller judges; non-zero only for usage errors or when a socket cannot be opened.
            """)

    @Option(
        help: ArgumentHelp("Where to send (mpclient's listen address).", valueName: "host:port"),
        transform: parseDestination)
    var to: SocketAddress

    @Option(help: "Datagrams per second over all flows (1-1000000).")
    var rate = 1_000

    @Option(help: "Bytes per datagram (0-\(Defaults.maximumPayload)).")
    var size = 1_200

    @Option(help: "Seconds of sending.", transform: parseSeconds)
    var duration: Double = 5

    @Option(help: "Sockets to send from, each its own application address (1-\(Defaults.maximumFlowsPerSession)).")
    var flows = 1

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        // A million per second is past what one loop on loopback sends anyway.
        try check(rate, in: 1...1_000_000, flag: "--rate")
        try check(size, in: 0...Defaults.maximumPayload, flag: "--size")
        try check(flows, in: 1...Defaults.maximumFlowsPerSession, flag: "--flows")
        let planned = Int((Double(rate) * duration).rounded())
        // 100 million: the bitmap of sequence numbers stays at 12.5 MB.
        guard (1...100_000_000).contains(planned) else {
            throw ValidationError("--rate `\(rate)' times --duration `\(duration)' must give 1 to 100000000 datagrams")
        }
    }

    func run() throws {
        let lab = try LabLoop()
        let settings = LoadSettings(target: to, rate: rate, size: size, durationSeconds: duration, flows: flows)
        let generator: LoadGenerator
        do {
            generator = try LoadGenerator(settings: settings, lab: lab)
        } catch {
            throw LabError("cannot open a socket to \(to): \(error)")
        }
        generator.start { lab.stop() }
        lab.run()
        emit(json ? generator.report.json.rendered : generator.report.text)
        if lab.isInterrupted { throw ExitCode(lab.interruptedExitCode) }
    }
}
