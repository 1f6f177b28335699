import MPRuntime
import MPTestSupport

/// One tunnel on loopback: echo target, mpserver, `bridges` socat bridges (or, with
/// `drops`, mplab relays dropping that share each way), and mpclient.
final class TunnelFixture {
    let lab = TunnelLab()
    let echoPort = freeUDPPort()
    let serverPort = freeUDPPort()
    let listenPort = freeUDPPort()
    var bridgePorts: [UInt16] = []
    var server: ChildProcess?
    var client: ChildProcess?

    init(bridges: Int = 3, drops: [Double]? = nil, socat: Bool = true, directPath: Bool = false) throws {
        try lab.startEcho(port: echoPort)
        server = try lab.startServer(port: serverPort, targetPort: echoPort)
        for index in 0..<(drops?.count ?? bridges) {
            let port = freeUDPPort()
            if let drops {
                try lab.startRelay(listenPort: port, targetPort: serverPort, drop: drops[index], seed: index + 1)
            } else if socat {
                try lab.startSocatBridge(listenPort: port, targetPort: serverPort)
            } else {
                try lab.startRelay(listenPort: port, targetPort: serverPort)
            }
            bridgePorts.append(port)
        }
        if directPath { bridgePorts.append(serverPort) }
        client = try lab.startClient(listenPort: listenPort, pathPorts: bridgePorts)
    }

    var listenAddress: SocketAddress { .loopbackIPv4(port: listenPort) }

    func restartServer() throws {
        server = try lab.startServer(port: serverPort, targetPort: echoPort)
    }

    func restartClient() throws {
        client = try lab.startClient(listenPort: listenPort, pathPorts: bridgePorts)
    }

    /// Sends a datagram every 10 ms until one comes back; the seconds that took, or nil
    /// after `timeout`.
    func secondsUntilTraffic(prober: Prober, timeout: Duration = .seconds(8)) -> Double? {
        let start = ContinuousClock.now
        let recovered = waitUntil(timeout: timeout, poll: .milliseconds(1)) {
            prober.roundTrip(Array("probe".utf8), timeout: .milliseconds(10)) != nil
        }
        guard recovered else { return nil }
        let elapsed = start.duration(to: .now).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }
}
