import MPRuntime
import MPTestSupport
import Testing
import MPLabSupport

/// Whether a test runs its tunnel keyless (the foundation's command lines) or with one key
/// on both sides: the foundation's end-to-end tests run both ways.
enum Keying: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case keyless
    case keyed

    var testDescription: String { rawValue }
}

/// One tunnel on loopback: echo target, mpserver, `bridges` socat bridges (or, with
/// `drops`, mplab relays dropping that share each way), and mpclient; with `keying` keyed,
/// both daemons get the lab's key file. `products`: where mpclient, mpserver and mplab come
/// from (the debug build of the tests, or ``releaseProductsDirectory()`` for a test whose
/// load the debug daemons could not carry on a shared machine).
final class TunnelFixture {
    let lab: TunnelLab
    let echoPort = freeUDPPort()
    let serverPort = freeUDPPort()
    let listenPort = freeUDPPort()
    var bridgePorts: [UInt16] = []
    var server: ChildProcess?
    var client: ChildProcess?

    init(
        bridges: Int = 3, drops: [Double]? = nil, socat: Bool = true, directPath: Bool = false,
        keying: Keying = .keyless, clientLines: [String] = [], products: String = productsDirectory()
    ) throws {
        lab = try TunnelLab(keyed: keying == .keyed, products: products)
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
        client = try lab.startClient(listenPort: listenPort, pathPorts: bridgePorts, extraLines: clientLines)
    }

    var listenAddress: SocketAddress { .loopbackIPv4(port: listenPort) }

    /// True when both daemons logged the sealing the fixture asked for: with a key, the
    /// cipher `--cipher auto` picked (timed at start where the CPU has AES instructions, and
    /// logged; ChaCha20-Poly1305 elsewhere); the keyless warning without one. Call once the
    /// tunnel is up.
    var sealsAsConfigured: Bool {
        [server, client].allSatisfy { daemon in
            guard let log = daemon?.log else { return false }
            guard lab.keyFile != nil else { return log.contains("no key: frames travel unauthenticated") }
            let hasAES = CPUFeatures.hasAESInstructions(cpuinfo: try? TextFile.read(path: "/proc/cpuinfo"))
            let cipher =
                hasAES && log.contains("cipher auto: aes-256-gcm")
                ? "AES-256-GCM"
                : !hasAES || log.contains("cipher auto: chacha20-poly1305") ? "ChaCha20-Poly1305" : "(none logged)"
            return log.contains("frames sealed with \(cipher)")
        }
    }

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
