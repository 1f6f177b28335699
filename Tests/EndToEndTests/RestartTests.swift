import MPCore
import MPTestSupport
import Testing

/// Either daemon killed with SIGKILL mid-stream and restarted a second later: traffic
/// flows again without touching the other side.
@Suite("Restarts heal by themselves", .serialized)
struct RestartTests {
    enum Daemon: String { case mpserver, mpclient }

    @Test(
        "mpserver killed and restarted: traffic within 2 s, mpclient untouched", .tags(.timing),
        arguments: Keying.allCases)
    func serverRestart(keying: Keying) throws {
        let tunnel = try restarted(.mpserver, keying: keying)
        #expect(tunnel.client?.log.contains("mpserver restarted") == true)
    }

    @Test(
        "mpclient killed and restarted: traffic within 2 s, mpserver untouched", .tags(.timing),
        arguments: Keying.allCases)
    func clientRestart(keying: Keying) throws {
        try restarted(.mpclient, keying: keying)
    }

    /// A tunnel of three bridges in which `daemon` was killed and started again; checks that
    /// traffic came back within 2 s, and returns the tunnel.
    @discardableResult
    func restarted(_ daemon: Daemon, keying: Keying) throws -> TunnelFixture {
        let tunnel = try TunnelFixture(bridges: 3, keying: keying)
        let prober = try Prober(to: tunnel.listenAddress)
        #expect(tunnel.secondsUntilTraffic(prober: prober) != nil, "\(tunnel.lab.logs)")
        #expect(tunnel.sealsAsConfigured, "\(tunnel.lab.logs)")
        let name = "\(daemon.rawValue) restart [\(keying)]"
        // Killed and restarted again only if the host paused the machine during the last try.
        let seconds = try retryingAfterAHostPause(
            name,
            {
                (daemon == .mpserver ? tunnel.server : tunnel.client)?.kill9()
                _ = prober.drain(timeout: .milliseconds(1000))
                try daemon == .mpserver ? tunnel.restartServer() : tunnel.restartClient()
                return tunnel.secondsUntilTraffic(prober: prober)
            }, passes: { ($0 ?? 99) < 2 })
        print("\(name): traffic again after \(seconds.map { "\($0)" } ?? "never") s")
        #expect((seconds ?? 99) < 2, "\(tunnel.lab.logs)")
        return tunnel
    }
}
