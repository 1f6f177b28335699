// Forward error correction end to end (issue 17): the built daemons in `mode fec 4:2` over
// three mplab relays, through `mplab fec` (the figures of BENCHMARKS.md, here 5 or 6 s per
// row instead of 20). Coding, spreading and rebuilding are proven in the core's simulation
// (MPCoreTests/FECTunnelTests.swift); these check what users are promised.
import Foundation
import MPTestSupport
import Testing

@Suite("Fec mode through lossy, dying and rate-limited relays", .serialized)
struct FECTests {
    struct Row: Decodable {
        var row: String
        var mode: String
        var sent: Double
        var lostUp: Double
        var lostDown: Double
        var deliveredUp: Double
        var bytesUpPerPayload: Double
        var bytesDownPerPayload: Double
    }

    /// Runs `mplab fec` for `row` in `mode`, `seconds` measured; its figures.
    static func measure(_ row: String, mode: String = "fec-4-2", seconds: Int) throws -> Row {
        let lab = TunnelLab()
        let process = try lab.start(
            "mplab", ["fec", "--rows", row, "--modes", mode, "--seconds", "\(seconds)", "--json"])
        let status = process.waitForExit(timeout: .seconds(seconds + 40))
        let line = try #require(
            process.log.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(status as Any) \(process.log)")
        return try JSONDecoder().decode(Row.self, from: Data(line.utf8))
    }

    @Test("three clean links, one killed halfway, fec 4:2: no payload lost either way")
    func killedLink() throws {
        let result = try retryingAfterAHostPause("fec kill") {
            try Self.measure("kill", seconds: 4)
        } passes: {
            $0.lostUp == 0 && $0.lostDown == 0
        }
        print("fec kill: \(result)")
        #expect(result.lostUp == 0 && result.lostDown == 0, "\(result)")
    }

    @Test("three links of 500/s, 1,000/s offered, fec 4:2: at least 900/s delivered, under 1% lost")
    func rateLimited() throws {
        let result = try retryingAfterAHostPause("fec rate") {
            try Self.measure("rate", seconds: 3)
        } passes: {
            $0.deliveredUp >= 900 && $0.lostUp < 0.01 && $0.lostDown < 0.01
        }
        print("fec rate: \(result)")
        #expect(result.deliveredUp >= 900 && result.lostUp < 0.01 && result.lostDown < 0.01, "\(result)")
    }

    /// 4:2 loses a payload only when 3 or more of its group's 6 shards are lost: about 0.8%
    /// of payloads at 10% loss per link. Over 4,000 payloads that is 32 ± 8; 1.5% is far
    /// outside chance, and duplicate mode's traffic (3 copies) is twice the 1.5 measured here.
    @Test("three links dropping 10% each way, fec 4:2: under 1.5% lost each way at 1.5x the bytes")
    func lossyLinks() throws {
        let result = try retryingAfterAHostPause("fec lossy") {
            try Self.measure("lossy", seconds: 4)
        } passes: {
            $0.lostUp < 0.015 && $0.lostDown < 0.015
        }
        print("fec lossy: \(result)")
        #expect(result.lostUp < 0.015 && result.lostDown < 0.015, "\(result)")
        // 1,200-byte payloads in 1,232-byte frames: 1.5 frames each plus parity headers and probes.
        #expect(result.bytesUpPerPayload < 1_232 * 1.6 && result.bytesDownPerPayload < 1_232 * 1.6, "\(result)")
    }
}
