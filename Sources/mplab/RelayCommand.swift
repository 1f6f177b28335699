// `mplab relay`: the lossy bridge of the lab, run until SIGINT/SIGTERM or --duration.
import ArgumentParser
import MPCore
import MPRuntime

struct RelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "A lossy UDP relay (a bridge): forwards datagrams both ways, dropping some.",
        discussion: """
            Like `socat udp-listen:PORT,fork udp4:HOST:PORT`: each client address gets its own \
            upstream socket, so replies go back to the client that caused them, and a client \
            restarted on a new port gets a new mapping. Mappings idle for --idle-timeout are \
            closed. Each direction drops datagrams independently with probability --drop, \
            decided by a SplitMix64 generator seeded with --seed (same seed, same drops). \
            ICMP errors from the upstream (ECONNREFUSED while it restarts) are counted, never fatal.

            --rate N makes each direction a link of N datagrams per second, as a capacity-limited \
            link (a DSL line, a radio hop) is: datagrams leave evenly spaced, 1/N s apart, through \
            a queue that holds 50 ms of them (at least 4). --rate 6mbit (bit, kbit, mbit, gbit) \
            makes it a line of that many bits per second instead: each datagram takes the time \
            its bytes and its IP and UDP headers (28 bytes) take on the line, so a small one \
            takes less than a large one, and the queue holds 50 ms. One that finds the queue full is \
            dropped (drop-tail) and counted as overflowed. A saturated link therefore shows both \
            loss and up to 50 ms of queueing delay. A link that was idle may first send a queue's \
            worth back to back (a token bucket as deep as the queue), which also gives back the \
            time a relay loses when a busy machine deschedules it. Order per datagram: --drop, \
            then the rate limit, then --delay-ms (serialization, then propagation).

            --drop, --delay-ms and --rate apply to both directions; --up-drop, --up-delay-ms and \
            --up-rate (client to upstream) and --down-drop, --down-delay-ms and --down-rate \
            (upstream to client) set one direction instead, for asymmetric links (--rate-up and \
            --rate-down are the same as --up-rate and --down-rate).

            When held datagrams (--delay-ms, --rate) leave more than 10 ms after their time, \
            because a busy machine did not run the relay in time, it prints `relay late: ...' \
            once a second with the worst lateness: the path was that much slower than asked.

            Prints the bound address at start and a one-line summary at exit.
            """)

    @Option(
        help: ArgumentHelp("Where to listen; port 0 picks a free port (printed at start).", valueName: "host:port"),
        transform: parseListenAddress)
    var listen: SocketAddress

    @Option(
        help: ArgumentHelp("Where to forward to (mpserver).", valueName: "host:port"), transform: parseDestination)
    var to: SocketAddress

    @Option(help: "Probability of dropping each datagram, per direction (0 to 1).", transform: parseProbability)
    var drop: Double = 0

    @Option(name: .customLong("delay-ms"), help: "Fixed delay added to every datagram, in milliseconds (0-10000).")
    var delayMilliseconds = 0

    @Option(
        help: ArgumentHelp(
            "Per direction: datagrams per second (600 or 600/s), or bits per second on the line (6mbit); 0: unlimited.",
            valueName: "rate"),
        transform: parseRelayRate)
    var rate = RelayRate()

    @Option(name: .customLong("up-drop"), help: "--drop for client to upstream only.", transform: parseProbability)
    var upDrop: Double?

    @Option(
        name: .customLong("down-drop"), help: "--drop for upstream to client only.", transform: parseProbability)
    var downDrop: Double?

    @Option(name: .customLong("up-delay-ms"), help: "--delay-ms for client to upstream only.")
    var upDelayMilliseconds: Int?

    @Option(name: .customLong("down-delay-ms"), help: "--delay-ms for upstream to client only.")
    var downDelayMilliseconds: Int?

    @Option(
        name: [.customLong("up-rate"), .customLong("rate-up")],
        help: ArgumentHelp("--rate for client to upstream only.", valueName: "rate"), transform: parseRelayRate)
    var upRate: RelayRate?

    @Option(
        name: [.customLong("down-rate"), .customLong("rate-down")],
        help: ArgumentHelp("--rate for upstream to client only.", valueName: "rate"), transform: parseRelayRate)
    var downRate: RelayRate?

    @Option(help: "Seed of the drop generator.")
    var seed: UInt64 = 1

    @Option(help: "Stop after this many seconds (default: run until SIGINT or SIGTERM).", transform: parseSeconds)
    var duration: Double?

    @Option(name: .customLong("idle-timeout"), help: "Seconds after which an idle client mapping is closed.")
    var idleTimeout = 60

    @Option(
        name: .customLong("stats-file"),
        help: "Write counters as JSON to this file every second and at exit: {\"up\":{...},\"down\":{...}}.")
    var statsFile: String?

    func validate() throws {
        // 10 s: far past any path a tunnel would keep; the delay queue holds 16 MB.
        let delays = [
            ("--delay-ms", delayMilliseconds), ("--up-delay-ms", upDelayMilliseconds),
            ("--down-delay-ms", downDelayMilliseconds),
        ]
        for (flag, value) in delays { try value.map { try check($0, in: 0...10_000, flag: flag) } }
        try check(idleTimeout, in: 1...86_400, flag: "--idle-timeout")
    }

    /// One direction's settings: its own flags where given, else the shared ones.
    private func link(drop: Double?, delayMilliseconds: Int?, rate: RelayRate?) -> RelayLinkSettings {
        RelayLinkSettings(
            dropProbability: drop ?? self.drop,
            delay: .milliseconds(UInt64(delayMilliseconds ?? self.delayMilliseconds)), rate: (rate ?? self.rate).cap)
    }

    func run() throws {
        let lab = try LabLoop()
        let up = link(drop: upDrop, delayMilliseconds: upDelayMilliseconds, rate: upRate)
        let down = link(drop: downDrop, delayMilliseconds: downDelayMilliseconds, rate: downRate)
        let settings = RelaySettings(
            listen: listen, target: to, up: up, down: down, seed: seed, idleTimeoutSeconds: UInt64(idleTimeout))
        let relay: Relay
        do {
            relay = try Relay(settings: settings, lab: lab)
        } catch {
            throw LabError("cannot listen on \(listen): \(error)")
        }
        relay.onTick = { writeStatistics(relay) }
        relay.onLate = { late in
            emit("relay late: held datagrams left up to \(late.nanoseconds / 1_000_000) ms after their time")
        }
        relay.start()
        emit(
            "relay listening on \(relay.listenAddress), forwarding to \(to), \(describe(up: up, down: down)), seed \(seed)"
        )
        lab.run(for: duration)
        relay.stop()
        writeStatistics(relay)
        emit(relay.summary)
    }

    private func writeStatistics(_ relay: Relay) {
        guard let statsFile else { return }
        do {
            try AtomicFile.write(relay.statisticsJSON.rendered + "\n", to: statsFile)
        } catch {
            warn("mplab relay: \(error)")
        }
    }
}

/// `drop 0.2' when both directions are alike, `up drop 0.2; down drop 0.1, delay 30 ms' when not.
private func describe(up: RelayLinkSettings, down: RelayLinkSettings) -> String {
    func text(_ link: RelayLinkSettings) -> String {
        var parts = ["drop \(link.dropProbability)"]
        if link.delay.nanoseconds > 0 { parts.append("delay \(link.delay.nanoseconds / 1_000_000) ms") }
        if let rate = link.rate { parts.append("rate \(rate)") }
        return parts.joined(separator: ", ")
    }
    let (upText, downText) = (text(up), text(down))
    return upText == downText ? upText : "up \(upText); down \(downText)"
}
