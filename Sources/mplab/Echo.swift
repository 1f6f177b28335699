// The lab's target: sends every datagram back to its sender, as an OpenVPN server would
// answer its client. Used by `mplab echo` and in-process by `mplab demo`.
import ArgumentParser
import MPCore
import MPRuntime

final class EchoServer {
    /// Datagrams handled per readiness event before the loop serves other sockets.
    static let batchLimit = 64

    let address: SocketAddress
    /// Datagrams beginning with this are also counted under `prefixed` (a test tells its
    /// own traffic from anything else that reaches the target).
    let countPrefix: [UInt8]?
    private(set) var received = 0
    private(set) var prefixed = 0
    private(set) var echoed = 0
    /// Sends that failed (send buffer full): the datagram is lost, as on a busy server.
    private(set) var failed = 0
    private let socket: UDPSocket
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    private var watcher: IOWatcher?

    init(listen: SocketAddress, loop: EventLoop, countPrefix: [UInt8]? = nil) throws {
        self.countPrefix = countPrefix
        socket = try UDPSocket(bindingTo: listen)
        socket.setBufferSizes(receive: 4 << 20, send: 4 << 20)
        address = try socket.localAddress
        watcher = IOWatcher(loop: loop, fd: socket.fd) { [unowned self] in drain() }
        watcher?.start()
    }

    deinit {
        watcher?.stop()
        buffer.deallocate()
    }

    private func drain() {
        for _ in 0..<Self.batchLimit {
            switch socket.receive(into: buffer) {
            case .datagram(let length, let sender):
                received += 1
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<min(length, buffer.count)])
                if let countPrefix, bytes.starts(with: countPrefix) { prefixed += 1 }
                if socket.send(bytes, to: sender) == .sent { echoed += 1 } else { failed += 1 }
            case .wouldBlock:
                return
            case .failed:
                continue
            }
        }
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
