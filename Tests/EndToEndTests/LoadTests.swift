import Foundation
import MPTestSupport
import Testing

/// What `mplab load --json` reports.
struct LoadResult: Decodable {
    var sent: Int
    var received: Int
    var lossPercent: Double
    var duplicates: Int
    var corrupted: Int
    var misdelivered: Int
    var rttSamples: Int
    var rttMicroseconds: RoundTrips?

    struct RoundTrips: Decodable {
        var p50: Int
        var p99: Int
        var max: Int
    }
}

extension TunnelFixture {
    /// Runs `mplab load` against mpclient and returns its report.
    func load(rate: Int, size: Int, seconds: Int, flows: Int = 1) throws -> LoadResult? {
        let process = try lab.start(
            "mplab",
            [
                "load", "--to", "127.0.0.1:\(listenPort)", "--rate", "\(rate)", "--size", "\(size)",
                "--duration", "\(seconds)", "--flows", "\(flows)", "--json",
            ])
        guard process.waitForExit(timeout: .seconds(seconds + 30)) == 0,
            let line = process.log.split(separator: "\n").last(where: { $0.hasPrefix("{") })
        else { return nil }
        return try JSONDecoder().decode(LoadResult.self, from: Data(line.utf8))
    }
}

/// Traffic at rate through the built binaries.
@Suite("Load through the tunnel", .serialized)
struct LoadTests {
    /// 50 ms: on loopback the tunnel adds well under a millisecond to a round trip, so 1% of
    /// echoes later than that means a daemon stood still (a 200 ms stall delays 150 of the
    /// 5,000), whether or not its 4 MB socket buffers kept every datagram.
    static let roundTripLimit = 50_000

    @Test(
        "the README example: three socat bridges, 1,000 datagrams/s of 1,200 bytes, under 0.5% loss, 99% of echoes within 50 ms",
        .tags(.timing), arguments: Keying.allCases)
    func readmeExample(keying: Keying) throws {
        let tunnel = try TunnelFixture(bridges: 3, keying: keying)
        #expect(try tunnel.lab.waitForTunnel(listenPort: tunnel.listenPort), "\(tunnel.lab.logs)")
        #expect(tunnel.sealsAsConfigured, "\(tunnel.lab.logs)")
        func passes(_ result: LoadResult) -> Bool {
            result.sent >= 4_900 && result.lossPercent < 0.5
                && (result.rttMicroseconds?.p99 ?? .max) < Self.roundTripLimit
        }
        let result = try #require(
            try retryingAfterAHostPause(
                "README example [\(keying)]", { try tunnel.load(rate: 1_000, size: 1_200, seconds: 5) },
                passes: { $0.map(passes) ?? false }))
        let roundTrips = result.rttMicroseconds.map { "p50 \($0.p50) µs, p99 \($0.p99) µs, max \($0.max) µs" } ?? "none"
        print(
            "README example [\(keying)]: sent \(result.sent), received \(result.received), loss \(result.lossPercent)% "
                + "round trip; round trips \(roundTrips)")
        #expect(result.sent >= 4_900)
        #expect(result.lossPercent < 0.5)
        #expect((result.rttMicroseconds?.p99 ?? .max) < Self.roundTripLimit, "\(roundTrips)")
        #expect(result.duplicates == 0)
        #expect(result.corrupted == 0)
    }

    /// One copy per path (`fastest-copies 1`): the tunnel loses what three independent paths
    /// lose, no more (a path wrongly down) and no less (a test that does not drop). 20,000
    /// round trips, as when this ran 20 s at 1,000/s through the debug daemons, but at
    /// 4,000/s for 5 s through the release build: the same count of datagrams, so the same
    /// spread (about 320 lost round trips, a standard deviation of 18, against a band from
    /// 213 to 477), in a quarter of the time. Loss is what the claim is about, not the
    /// daemons' speed, and the release daemons carry 4,000/s with a core to spare.
    @Test(
        "three paths dropping 20% each way, one copy each: loss within 1.5x of the expected 0.8% each way",
        .tags(.timing), arguments: Keying.allCases)
    func lossyPaths(keying: Keying) throws {
        let tunnel = try TunnelFixture(
            drops: [0.2, 0.2, 0.2], keying: keying, clientLines: ["fastest-copies 1"],
            products: try releaseProductsDirectory())
        #expect(try tunnel.lab.waitForTunnel(listenPort: tunnel.listenPort), "\(tunnel.lab.logs)")
        #expect(tunnel.sealsAsConfigured, "\(tunnel.lab.logs)")
        // A round trip crosses the paths twice: 1 - (1 - 0.008)^2 = 1.59% expected.
        func oneWay(_ result: LoadResult) -> Double { 1 - (1 - result.lossPercent / 100).squareRoot() }
        let result = try #require(
            try retryingAfterAHostPause(
                "20% paths [\(keying)]", { try tunnel.load(rate: 4_000, size: 200, seconds: 5) },
                passes: {
                    $0.map { $0.sent >= 20_000 && oneWay($0) > 0.008 / 1.5 && oneWay($0) < 0.008 * 1.5 } ?? false
                }
            ))
        let oneWayLoss = oneWay(result)
        print(
            "20% paths [\(keying)]: sent \(result.sent), round-trip loss \(result.lossPercent)%, one way \(oneWayLoss * 100)%"
        )
        #expect(result.sent >= 20_000)
        #expect(oneWayLoss > 0.008 / 1.5 && oneWayLoss < 0.008 * 1.5)
        #expect(result.duplicates == 0)
    }

    /// The default, `fastest-copies auto`: once the receiver reports show the fastest path
    /// losing 20% (within the first 500 frames), it carries two copies, and a payload is lost
    /// only when all four are: 0.2^4 = 0.16% each way instead of 0.8%. mpserver mirrors the
    /// copies after two 1 s epochs, so the first 2 s lose more: they run before the measured
    /// load, which is the steady state the claim is about: 20,000 round trips at 4,000/s for
    /// 5 s through the release build. At 2,000/s for 10 s they measured 0.24-0.34% in three
    /// runs and 0.51% in a fourth with the warm-up counted (its 2 s weighed a fifth of the
    /// run), 0.24% without; at 1,000/s for 20 s through the debug daemons, 0.20-0.46%.
    @Test("three paths dropping 20% each way, fastest-copies auto: under 0.5% lost each way", .tags(.timing))
    func lossyPathsTwoCopies() throws {
        let tunnel = try TunnelFixture(
            drops: [0.2, 0.2, 0.2], keying: .keyed, products: try releaseProductsDirectory())
        #expect(try tunnel.lab.waitForTunnel(listenPort: tunnel.listenPort), "\(tunnel.lab.logs)")
        func oneWay(_ result: LoadResult) -> Double { 1 - (1 - result.lossPercent / 100).squareRoot() }
        _ = try tunnel.load(rate: 2_000, size: 200, seconds: 2)
        let result = try #require(
            try retryingAfterAHostPause(
                "20% paths, fastest-copies auto", { try tunnel.load(rate: 4_000, size: 200, seconds: 5) },
                passes: { $0.map { $0.sent >= 20_000 && oneWay($0) < 0.005 } ?? false }))
        let oneWayLoss = oneWay(result)
        print("20% paths, fastest-copies auto: sent \(result.sent), one way \(oneWayLoss * 100)%")
        #expect(result.sent >= 20_000)
        #expect(oneWayLoss < 0.005)
        #expect(result.duplicates == 0)
    }
}
