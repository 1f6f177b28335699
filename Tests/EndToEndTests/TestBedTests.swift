// The test bed (Configs/testbed/mptestbed.sh) as a user runs it: network namespaces joined
// by three lossy paths through mplab relays, the built mpclient and mpserver, WireGuard
// (wireguard-go) over the tunnel, and iperf3 and ping through WireGuard. Its JSON report is
// read here. Needs root and the tools .ci/run installs; it fails, never skips, without them.
import Foundation
import Glibc
import MPTestSupport
import Testing

/// The part of `mptestbed.sh --json` this test reads.
private struct TestBedReport: Decodable {
    struct Case: Decodable {
        var `case`: String
        var handshakeSeconds: [Double?]
        var tcpMbps: [String: [String: Double?]]
        var ping: Ping?
        var udp: [String: UDP?]?
        var pathDownEvents: Int?
    }

    struct Ping: Decodable {
        var sent: Int
        var received: Int
        var lossPercent: Double
        var p50Ms: Double?
        var p99Ms: Double?
    }

    struct UDP: Decodable {
        var lossPercent: Double
        var lost: Int
        var packets: Int
    }

    var cases: [Case]
}

@Suite("the test bed: WireGuard over the tunnel in network namespaces", .serialized)
struct TestBedTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Configs/testbed/mptestbed.sh").path

    let lab = TunnelLab()

    @Test("keyed, 3 paths at 5% loss each way: WireGuard's handshake completes, TCP, ping and UDP get through")
    func keyedTunnelCarriesWireGuard() throws {
        try #require(getuid() == 0, "the test bed makes network namespaces: run the tests as root (CI does)")
        // 3 s per measurement: cubic both ways, ping, UDP both ways, and the start: about
        // 30 s. The script stops itself after 150 s; this test waits 30 s more for its cleanup.
        let arguments = [
            TestBedTests.script, "--bin", lab.products, "--cases", "keyed-duplicate", "--paths", "3",
            "--loss", "5", "--congestion", "cubic", "--duration", "3", "--udp-rate", "2M", "--json",
            "--timeout", "150",
        ]
        let process = try lab.start("/bin/bash", arguments)
        let status = process.waitForExit(timeout: .seconds(180))
        process.stop(grace: .seconds(30))  // its EXIT trap deletes the namespaces: let it finish
        let log = process.log
        #expect(status == 0, "mptestbed.sh exited with \(status.map(String.init) ?? "nothing (killed)"):\n\(log)")
        // Its namespaces are named after its process id, and it deletes them whatever happened.
        let namespaces = try lab.start("/bin/sh", ["-c", "ip netns list"])
        _ = namespaces.waitForExit(timeout: .seconds(10))
        #expect(!namespaces.log.contains("mptb\(process.pid % 100_000)"), "namespaces left:\n\(namespaces.log)")

        // The table, for whoever reads the CI log.
        print(log.split(separator: "\n").filter { $0.hasPrefix("|") }.joined(separator: "\n"))
        let line = try #require(log.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "no JSON:\n\(log)")
        let report = try JSONDecoder().decode(TestBedReport.self, from: Data(line.utf8))
        let result = try #require(report.cases.first, "\(line)")
        #expect(report.cases.count == 1 && result.case == "keyed-duplicate", "\(line)")
        let handshake = try #require(result.handshakeSeconds.first ?? nil, "no WireGuard handshake:\n\(log)")
        #expect(handshake < 20, "\(line)")
        // Any throughput at all proves the path; the figures are for the table, not for CI.
        #expect((result.tcpMbps["cubic"]?["up"] ?? nil).map { $0 > 0 } == true, "\(line)")
        #expect((result.tcpMbps["cubic"]?["down"] ?? nil).map { $0 > 0 } == true, "\(line)")
        let ping = try #require(result.ping, "\(line)")
        #expect(ping.sent > 0 && ping.received > ping.sent / 2, "\(line)")
        // Through, not how well: the loss figures are the table's (and issue 13's) business.
        for direction in ["up", "down"] {
            let udp = try #require(result.udp?[direction] ?? nil, "no UDP \(direction):\n\(line)")
            #expect(udp.packets > 0 && udp.lost < udp.packets / 2, "UDP \(direction): \(line)")
        }
        #expect(result.pathDownEvents != nil, "\(line)")
    }
}
