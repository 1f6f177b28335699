// mpclient with three paths straight to mpserver, which forwards to an echoing target, all
// on one loop in the test's process (the allocation and run-forwarding tests).
import Logging
import MPCore

@testable import MPRuntime

final class LoopbackTunnel {
    let echo: UDPSocket
    let server: ServerDaemon
    let client: ClientDaemon
    /// Receives of the target that held a coalesced run (mpserver sent it one).
    private(set) var echoRuns = 0
    private let echoed = ReceiveBatch(capacity: 32)
    private let echoes: SendBatch
    private var echoWatcher: IOWatcher?

    init(loop: EventLoop, keyring: Keyring, mode: SchedulingMode = .duplicate) throws {
        let logger = Logger(label: "loopback-tunnel") { _ in SwiftLogNoOpLogHandler() }
        echo = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        echo.enableReceiveCoalescing()
        echoes = SendBatch(capacity: 1_024, family: .ipv4)
        let target = Endpoint(host: "127.0.0.1", port: try echo.localAddress.port)
        server = try ServerDaemon(
            settings: ServerSettings(listenPort: 0, listenHost: "127.0.0.1", target: target), loop: loop,
            logger: logger, keyring: keyring)
        let serverEndpoint = Endpoint(host: "127.0.0.1", port: try server.listenAddress.port)
        let paths = (1...3).map { PathConfiguration(endpoint: serverEndpoint, lineNumber: $0) }
        var configuration = ClientConfiguration(listen: Endpoint(host: "127.0.0.1", port: 0), paths: paths)
        configuration.mode = mode
        client = try ClientDaemon(configuration: configuration, loop: loop, logger: logger, keyring: keyring)
        echoWatcher = IOWatcher(loop: loop, fd: echo.fd) { [unowned self] in echoAll() }
    }

    func start() {
        server.start()
        client.start()
        echoWatcher?.start()
    }

    /// The target: every datagram goes back where it came from, the answers to one receive
    /// in one send (runs kept together, as a target with offload would answer).
    private func echoAll() {
        while case .received(let count) = echo.receive(into: echoed) {
            for index in 0..<count {
                guard let source = echoed.source(index) else { continue }
                if echoed.segmentSize(index) != nil { echoRuns += 1 }
                echoed.forEachDatagram(in: index) { datagram in
                    if echoes.isFull { sendEchoes() }
                    echoes.append(datagram: UnsafeRawBufferPointer(datagram), to: source)
                }
            }
            sendEchoes()
        }
    }

    private func sendEchoes() {
        echo.send(echoes) { _, _ in }
        echoes.removeAll()
    }
}
