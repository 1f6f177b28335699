// Balance mode end to end (issue 14): the built daemons in `mode balance` over two
// rate-limited mplab relays, through `mplab balance` (the benchmark of BENCHMARKS.md, here
// 5 s per row instead of 20). The other rows of its table are in the core's simulation
// (MPCoreTests/BalanceSimulationTests.swift) and in the benchmark.
import Foundation
import MPTestSupport
import Testing

@Suite("Balance mode through rate-limited relays", .serialized)
struct BalanceTests {
    struct Row: Decodable {
        var row: String
        var lostUp: Double
        var lostDown: Double
        var deliveredUp: Double
        var deliveredDown: Double
        var outOfOrder: Double
    }

    /// Runs `mplab balance` for `row`, `seconds` measured; its figures.
    static func measure(_ row: String, seconds: Int) throws -> Row {
        let lab = TunnelLab()
        let process = try lab.start("mplab", ["balance", "--rows", row, "--seconds", "\(seconds)", "--json"])
        let status = process.waitForExit(timeout: .seconds(seconds + 40))
        let line = try #require(
            process.log.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(status as Any) \(process.log)")
        return try JSONDecoder().decode(Row.self, from: Data(line.utf8))
    }

    @Test(
        "1,000 + 100/s at 1,050/s, 95% of the sum: under 2% lost each way, at least 1,029/s delivered", .tags(.timing))
    func nearlyFull() throws {
        let result = try retryingAfterAHostPause("balance nearly-full") {
            try Self.measure("nearly-full", seconds: 4)
        } passes: {
            $0.lostUp < 0.02 && $0.lostDown < 0.02 && $0.deliveredUp >= 1_029
        }
        print("balance nearly-full: \(result)")
        #expect(result.lostUp < 0.02 && result.lostDown < 0.02, "\(result)")
        #expect(result.deliveredUp >= 1_029 && result.deliveredDown >= 1_029, "\(result)")
    }

    @Test("1,000 up/100 down beside 100 up/1,000 down, 900/s each way: under 1% lost each way", .tags(.timing))
    func asymmetric() throws {
        let result = try retryingAfterAHostPause("balance asymmetric") {
            try Self.measure("asymmetric", seconds: 4)
        } passes: {
            $0.lostUp < 0.01 && $0.lostDown < 0.01
        }
        print("balance asymmetric: \(result)")
        #expect(result.lostUp < 0.01 && result.lostDown < 0.01, "\(result)")
    }
}
