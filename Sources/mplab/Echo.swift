// The lab's target: sends every datagram back to its sender, as an OpenVPN server would
// answer its client. Used by `mplab echo` and in-process by `mplab demo`. It reads in
// batches and answers each batch in one send (runs of same-sized datagrams to one sender
// kept together), so the benchmark measures the tunnel rather than its target.
import ArgumentParser
import MPCore
import MPRuntime

final class EchoServer {
    /// Receives (of up to ``receiveCapacity`` datagrams or runs each) per readiness event
    /// before the loop serves other sockets.
    static let receivesPerEvent = 2
    static let receiveCapacity = 32

    let address: SocketAddress
    /// Datagrams beginning with this are also counted under `prefixed` (a test tells its
    /// own traffic from anything else that reaches the target).
    let countPrefix: [UInt8]?
    private(set) var received = 0
    private(set) var prefixed = 0
    private(set) var echoed = 0
    /// Sends that failed (send buffer full): the datagram is lost, as on a busy server.
    private(set) var failed = 0
    /// With `tracksOrder`, numbered datagrams (`mplab load`'s) that arrived after one
    /// numbered higher from the same sender: the order the way up delivered them in. Off
    /// for the benchmark's target, whose cost per datagram is the reference's too.
    let tracksOrder: Bool
    private(set) var outOfOrder = 0
    private var highest: [SocketAddress: UInt64] = [:]
    /// With ``recordsEchoOrder``, per sender, the sequence numbers in the order they were
    /// echoed: what the way back starts from (`mplab balance` compares it with the order the
    /// echoes came back in).
    private(set) var echoOrder: [SocketAddress: [UInt64]] = [:]

    /// The sender whose ``echoOrder`` grew the most since `before` (a run's counts per
    /// sender), and what it added.
    func echoOrderAdded(since before: [SocketAddress: Int]) -> [UInt64] {
        let grown = echoOrder.max {
            $0.value.count - before[$0.key, default: 0] < $1.value.count - before[$1.key, default: 0]
        }
        guard let grown else { return [] }
        return Array(grown.value[before[grown.key, default: 0]...])
    }
    /// Keeps ``echoOrder`` (8 bytes per datagram; only where a run asks for it).
    var recordsEchoOrder = false
    private let socket: UDPSocket
    private let incoming = ReceiveBatch(capacity: EchoServer.receiveCapacity)
    /// The echoes of one receive, sent before the next (sooner when it is full).
    private let echoes: SendBatch
    private var watcher: IOWatcher?

    init(listen: SocketAddress, loop: EventLoop, countPrefix: [UInt8]? = nil, tracksOrder: Bool = false) throws {
        self.countPrefix = countPrefix
        self.tracksOrder = tracksOrder
        socket = try UDPSocket(bindingTo: listen)
        socket.setBufferSizes(receive: 4 << 20, send: 4 << 20)
        socket.enableReceiveCoalescing()
        address = try socket.localAddress
        echoes = SendBatch(capacity: 1_024, family: socket.family)
        watcher = IOWatcher(loop: loop, fd: socket.fd) { [unowned self] in drain() }
        watcher?.start()
    }

    deinit {
        watcher?.stop()
    }

    private func drain() {
        for _ in 0..<Self.receivesPerEvent {
            switch socket.receive(into: incoming) {
            case .received(let count):
                for index in 0..<count {
                    guard let sender = incoming.source(index) else { continue }
                    incoming.forEachDatagram(in: index) { datagram in
                        received += 1
                        if tracksOrder { noteOrder(datagram, from: sender) }
                        if let countPrefix, datagram.starts(with: countPrefix) { prefixed += 1 }
                        if echoes.isFull { sendEchoes() }
                        echoes.append(datagram: UnsafeRawBufferPointer(datagram), to: sender)
                    }
                }
                sendEchoes()
                if count < incoming.capacity { return }
            case .wouldBlock:
                return
            case .failed:
                continue
            }
        }
    }

    private func noteOrder(_ datagram: UnsafeMutableRawBufferPointer, from sender: SocketAddress) {
        guard datagram.count >= LoadPayload.sequencedSize else { return }
        let sequence = LoadPayload.sequence(in: UnsafeRawBufferPointer(datagram))
        if recordsEchoOrder { echoOrder[sender, default: []].append(sequence) }
        if let before = highest[sender], sequence < before {
            outOfOrder += 1
        } else {
            highest[sender] = sequence
        }
    }

    private func sendEchoes() {
        socket.send(echoes) { _, sent in
            if sent { echoed += 1 } else { failed += 1 }
        }
        echoes.removeAll()
    }

    var statisticsJSON: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("listen", .string(address.description)), ("received", .integer(received)),
            ("echoed", .integer(echoed)), ("failed", .integer(failed)),
        ]
        if countPrefix != nil { fields.append(("prefixed", .integer(prefixed))) }
        return .object(fields)
    }

    var summary: String {
        "echo \(address): received \(received) echoed \(echoed) failed \(failed)"
    }
}

struct EchoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "An echo target: sends every datagram back to its sender.",
        discussion: "Prints the bound address at start and a one-line summary at exit.")

    @Option(
        help: ArgumentHelp("Where to listen; port 0 picks a free port (printed at start).", valueName: "host:port"),
        transform: parseListenAddress)
    var listen: SocketAddress

    @Option(help: "Stop after this many seconds (default: run until SIGINT or SIGTERM).", transform: parseSeconds)
    var duration: Double?

    @Option(name: .customLong("stats-file"), help: "Write counters as JSON to this file every second and at exit.")
    var statsFile: String?

    @Option(
        name: .customLong("count-prefix"),
        help: ArgumentHelp(
            "Also count the datagrams that begin with this text (\"prefixed\" in the stats file), "
                + "to tell a test's own traffic from anything else that reaches the target.",
            valueName: "text"))
    var countPrefix: String?

    func run() throws {
        let lab = try LabLoop()
        let echo: EchoServer
        do {
            echo = try EchoServer(listen: listen, loop: lab.loop, countPrefix: countPrefix.map { Array($0.utf8) })
        } catch {
            throw LabError("cannot listen on \(listen): \(error)")
        }
        let timer = lab.every(.seconds(1)) { writeStatistics(echo) }
        emit("echo listening on \(echo.address)")
        lab.run(for: duration)
        timer.stop()
        writeStatistics(echo)
        emit(echo.summary)
    }

    private func writeStatistics(_ echo: EchoServer) {
        guard let statsFile else { return }
        do {
            try AtomicFile.write(echo.statisticsJSON.rendered + "\n", to: statsFile)
        } catch {
            warn("mplab echo: \(error)")
        }
    }
}
