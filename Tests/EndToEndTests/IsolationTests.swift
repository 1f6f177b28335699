import MPCore
import MPRuntime
import MPTestSupport
import Testing

/// Several mpclients on one mpserver, several applications behind one mpclient: every
/// application gets its own replies and no one else's.
@Suite("Sessions and flows stay apart", .serialized)
struct IsolationTests {
    /// Sends `count` numbered datagrams from each prober, tagged with its index, and checks
    /// the replies: returns the loss of each and fails on any reply meant for another.
    /// `name` names the exchange in the line printed when it runs again.
    func exchange(_ probers: [Prober], count: Int, name: String) -> [Double] {
        var attempt: UInt32 = 0
        // Again only after a host pause; each attempt's numbers follow the last one's,
        // so that a late reply of one attempt is not counted for the next.
        return retryingAfterAHostPause(
            name,
            {
                defer { attempt += 1 }
                return exchange(probers, numbers: attempt * UInt32(count)..<(attempt + 1) * UInt32(count))
            }, passes: { $0.allSatisfy { $0 < 0.01 } })
    }

    /// One exchange of ``exchange(_:count:name:)``, with the datagrams numbered `numbers`.
    private func exchange(_ probers: [Prober], numbers: Range<UInt32>) -> [Double] {
        var received = Array(repeating: Set<UInt32>(), count: probers.count)
        for sequence in numbers {
            for (index, prober) in probers.enumerated() {
                prober.send([UInt8(index)] + withUnsafeBytes(of: sequence.bigEndian, Array.init))
            }
            // Paced like an application (bursts of 10 each, then a pause), not a flood.
            if sequence % 10 == 9 { collect(probers, into: &received, timeout: .milliseconds(5)) }
        }
        collect(probers, into: &received, timeout: .milliseconds(500))
        return received.map { Double(numbers.count - $0.filter(numbers.contains).count) / Double(numbers.count) }
    }

    private func collect(_ probers: [Prober], into received: inout [Set<UInt32>], timeout: Duration) {
        for (index, prober) in probers.enumerated() {
            for reply in prober.drain(timeout: timeout) {
                #expect(reply.count == 5 && reply[0] == UInt8(index), "prober \(index) got another's reply")
                guard reply.count == 5 else { continue }
                received[index].insert(reply[1...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
        }
    }

    @Test(
        "two applications behind one mpclient: under 1% loss each, nothing misdelivered", .tags(.timing),
        arguments: Keying.allCases)
    func twoApplications(keying: Keying) throws {
        let tunnel = try TunnelFixture(bridges: 2, directPath: true, keying: keying)
        #expect(try tunnel.lab.waitForTunnel(listenPort: tunnel.listenPort), "\(tunnel.lab.logs)")
        #expect(tunnel.sealsAsConfigured, "\(tunnel.lab.logs)")
        let probers = try (0..<2).map { _ in try Prober(to: tunnel.listenAddress) }
        let losses = exchange(probers, count: 2_000, name: "two applications [\(keying)]")
        print("two applications, loss [\(keying)]: \(losses)")
        #expect(losses.allSatisfy { $0 < 0.01 }, "\(losses)")
    }

    @Test(
        "two mpclients on one mpserver: under 1% loss each, nothing misdelivered", .tags(.timing),
        arguments: Keying.allCases)
    func twoClients(keying: Keying) throws {
        let tunnel = try TunnelFixture(bridges: 2, directPath: true, keying: keying)
        let secondListen = freeUDPPort()
        try tunnel.lab.startClient(listenPort: secondListen, pathPorts: tunnel.bridgePorts)
        #expect(try tunnel.lab.waitForTunnel(listenPort: tunnel.listenPort), "\(tunnel.lab.logs)")
        #expect(tunnel.sealsAsConfigured, "\(tunnel.lab.logs)")
        #expect(try tunnel.lab.waitForTunnel(listenPort: secondListen), "\(tunnel.lab.logs)")
        let probers = [try Prober(to: tunnel.listenAddress), try Prober(to: .loopbackIPv4(port: secondListen))]
        let losses = exchange(probers, count: 2_000, name: "two mpclients [\(keying)]")
        print("two mpclients, loss [\(keying)]: \(losses)")
        #expect(losses.allSatisfy { $0 < 0.01 }, "\(losses)")
    }
}
