import MPCore
import MPRuntime
import MPTestSupport
import Testing

/// Datagrams of every size, and garbage, at the daemons' ports.
@Suite("Sizes and hostile input", .serialized)
struct HostileInputTests {
    @Test(
        "payloads up to the documented maximum arrive intact, one for one; one byte more is dropped",
        arguments: Keying.allCases)
    func sizes(keying: Keying) throws {
        let tunnel = try TunnelFixture(bridges: 0, directPath: true, keying: keying)
        #expect(try tunnel.lab.waitForTunnel(listenPort: tunnel.listenPort), "\(tunnel.lab.logs)")
        #expect(tunnel.sealsAsConfigured, "\(tunnel.lab.logs)")
        let prober = try Prober(to: tunnel.listenAddress)
        _ = prober.drain(timeout: .milliseconds(200))
        for size in [0, 1, 1_200, 1_472, 9_000, 32_768, Defaults.maximumPayload] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
            #expect(prober.roundTrip(payload, timeout: .seconds(2)) == payload, "size \(size)")
            #expect(prober.receive(timeout: .milliseconds(100)) == nil, "a second copy of size \(size)")
        }
        let tooLarge = [UInt8](repeating: 1, count: Defaults.maximumPayload + 1)
        #expect(prober.roundTrip(tooLarge, timeout: .milliseconds(500)) == nil)
        #expect(tunnel.client?.log.contains("larger than \(Defaults.maximumPayload) bytes") == true)
    }

    @Test(
        "100,000 random datagrams at each daemon: no crash, forwarding goes on, memory bounded",
        .tags(.timing), arguments: Keying.allCases)
    func garbage(keying: Keying) throws {
        let tunnel = try TunnelFixture(bridges: 2, directPath: true, keying: keying)
        #expect(try tunnel.lab.waitForTunnel(listenPort: tunnel.listenPort), "\(tunnel.lab.logs)")
        #expect(tunnel.sealsAsConfigured, "\(tunnel.lab.logs)")
        let prober = try Prober(to: tunnel.listenAddress)
        let pids = [tunnel.server!.pid, tunnel.client!.pid]
        let before = pids.map { ProcessStats.residentKilobytes(pid: $0) ?? 0 }
        let attacker = try Prober(to: .loopbackIPv4(port: tunnel.serverPort))
        var random = SystemRandomNumberGenerator()
        // Each datagram is 0-2,000 bytes from a random place of 1 MB of random bytes: drawing
        // every byte anew took a debug build minutes, which the daemons spent idle.
        let pool = HostileDatagrams.randomBytes(count: 1 << 20, using: &random)
        func garbage() -> [UInt8] {
            let length = Int(random.next() % 2_001)
            let start = Int(random.next() % UInt64(pool.count - length + 1))
            return Array(pool[start..<start + length])
        }
        /// Floods mpserver; returns how many of the 100 probes among the garbage came back.
        func flood() -> Int {
            var forwarded = 0
            for round in 0..<100_000 {
                var datagram = garbage()
                if !datagram.isEmpty, round % 2 == 0 { datagram[0] = FrameLayout.version }
                attacker.send(datagram)
                if round % 1_000 == 0, prober.roundTrip([1, 2, 3], timeout: .milliseconds(300)) == [1, 2, 3] {
                    forwarded += 1
                }
            }
            return forwarded
        }
        // Flooded again only if the host paused the machine meanwhile (each pause over 300 ms
        // costs a probe); memory must stay bounded over all the floods.
        let forwarded = retryingAfterAHostPause("garbage [\(keying)]", flood, passes: { $0 >= 95 })
        let stray = try Prober(to: tunnel.listenAddress)
        for _ in 0..<100_000 {
            stray.send(garbage())
        }
        #expect(tunnel.server?.isRunning == true && tunnel.client?.isRunning == true)
        #expect(forwarded >= 95, "only \(forwarded) of 100 probes came back during the flood")
        _ = prober.drain(timeout: .milliseconds(500))
        #expect(prober.roundTrip([4, 5, 6], timeout: .seconds(2)) == [4, 5, 6])
        let after = pids.map { ProcessStats.residentKilobytes(pid: $0) ?? 0 }
        // 0 means /proc was unreadable: the memory bound below would then prove nothing.
        #expect(!before.contains(0) && !after.contains(0), "resident memory unreadable")
        print(
            "garbage [\(keying)]: resident KB before \(before), after \(after); probes through during flood \(forwarded)/100"
        )
        for (old, new) in zip(before, after) { #expect(new - old < 5 * 1024) }
    }
}
