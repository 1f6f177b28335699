import MPCore
import MPTestSupport
import Testing

/// Either daemon killed with SIGKILL mid-stream and restarted a second later: traffic
/// flows again without touching the other side.
@Suite("Restarts heal by themselves", .serialized)
struct RestartTests {
    @Test("mpserver killed and restarted: traffic within 2 s, mpclient untouched", arguments: Keying.allCases)
    func serverRestart(keying: Keying) throws {
        let tunnel = try TunnelFixture(bridges: 3, keying: keying)
        let prober = try Prober(to: tunnel.listenAddress)
        #expect(tunnel.secondsUntilTraffic(prober: prober) != nil, "\(tunnel.lab.logs)")
        #expect(tunnel.sealsAsConfigured, "\(tunnel.lab.logs)")
        // Killed and restarted again only if the host paused the machine during the last try.
        let seconds = try retryingAfterAHostPause(
            "mpserver restart [\(keying)]",
            {
                tunnel.server?.kill9()
                _ = prober.drain(timeout: .milliseconds(1000))
                try tunnel.restartServer()
                return tunnel.secondsUntilTraffic(prober: prober)
            }, passes: { ($0 ?? 99) < 2 })
        print("mpserver restart [\(keying)]: traffic again after \(seconds.map { "\($0)" } ?? "never") s")
        #expect((seconds ?? 99) < 2, "\(tunnel.lab.logs)")
        #expect(tunnel.client?.log.contains("mpserver restarted") == true)
    }

    @Test("mpclient killed and restarted: traffic within 2 s, mpserver untouched", arguments: Keying.allCases)
    func clientRestart(keying: Keying) throws {
        let tunnel = try TunnelFixture(bridges: 3, keying: keying)
        let prober = try Prober(to: tunnel.listenAddress)
        #expect(tunnel.secondsUntilTraffic(prober: prober) != nil, "\(tunnel.lab.logs)")
        #expect(tunnel.sealsAsConfigured, "\(tunnel.lab.logs)")
        // Killed and restarted again only if the host paused the machine during the last try.
        let seconds = try retryingAfterAHostPause(
            "mpclient restart [\(keying)]",
            {
                tunnel.client?.kill9()
                _ = prober.drain(timeout: .milliseconds(1000))
                try tunnel.restartClient()
                return tunnel.secondsUntilTraffic(prober: prober)
            }, passes: { ($0 ?? 99) < 2 })
        print("mpclient restart [\(keying)]: traffic again after \(seconds.map { "\($0)" } ?? "never") s")
        #expect((seconds ?? 99) < 2, "\(tunnel.lab.logs)")
    }
}
