import Testing

@testable import MPCore

/// Balance mode on simulated capacity-limited links (``LinkSimulator``): the rows of the
/// balance issue's table, 1,200-byte payloads echoed by the target, 20 s measured after a
/// 2 s start, in virtual time (no socket, no clock; seeded).
@Suite("Balance mode on simulated capacity-limited links")
struct BalanceSimulationTests {
    /// Each row's figures, printed so that a failure shows them all.
    static func describe(_ lab: LinkSimulator) -> String {
        func percent(_ share: Double) -> String { String(Double(Int(share * 10_000)) / 100) + "%" }
        let shares = (0..<lab.up.count).map { percent(lab.client.loads?.share(of: $0) ?? 0) }
        return "up: \(percent(lab.upstream.lossShare)) lost, \(percent(lab.upstream.outOfOrderShare)) out of order; "
            + "down: \(percent(lab.downstream.lossShare)) lost, \(percent(lab.downstream.outOfOrderShare)) out of order; "
            + "upstream shares \(shares.joined(separator: "/"))"
    }

    static func links(_ rates: [Int], delays: [UInt64] = [0, 0], perByte: Bool = false) -> [SimulatedLink] {
        zip(rates, delays).map { SimulatedLink(rate: $0, delayMilliseconds: $1, perByte: perByte) }
    }

    @Test("500 + 500/s at 900/s: under 0.5% lost each way, split evenly")
    func equalLinks() {
        let lab = LinkSimulator(up: Self.links([500, 500]), down: Self.links([500, 500]), payloadRate: 900)
        lab.run(seconds: 22)
        #expect(lab.upstream.lossShare < 0.005 && lab.downstream.lossShare < 0.005, "\(Self.describe(lab))")
        #expect(abs((lab.client.loads?.share(of: 0) ?? 0) - 0.5) < 0.05, "\(Self.describe(lab))")
    }

    @Test("1,000 + 100/s at 900/s, less than the fast link alone: under 0.5% lost each way")
    func unequalLinks() {
        let lab = LinkSimulator(up: Self.links([1_000, 100]), down: Self.links([1_000, 100]), payloadRate: 900)
        lab.run(seconds: 22)
        #expect(lab.upstream.lossShare < 0.005 && lab.downstream.lossShare < 0.005, "\(Self.describe(lab))")
    }

    @Test("1,000 + 100/s at 1,050/s, 95% of the sum: under 2% lost, at least 1,029/s delivered each way")
    func unequalLinksNearlyFull() {
        let lab = LinkSimulator(up: Self.links([1_000, 100]), down: Self.links([1_000, 100]), payloadRate: 1_050)
        lab.run(seconds: 22)
        #expect(lab.upstream.lossShare < 0.02 && lab.downstream.lossShare < 0.02, "\(Self.describe(lab))")
        #expect(lab.upstream.delivered >= 20 * 1_029 && lab.downstream.delivered >= 20 * 1_029, "\(Self.describe(lab))")
    }

    @Test(
        "600 + 200/s, the slow link 20 ms longer, at 750/s: under 1% lost, under 10% out of order each way",
        arguments: [(true, 0), (false, 0), (true, 500)])
    func slowLinkLonger(perByte: Bool, jitterMicroseconds: UInt64) {
        var links = Self.links([600, 200], delays: [0, 20], perByte: perByte)
        for index in links.indices { links[index].jitter = TimeSpan(nanoseconds: jitterMicroseconds * 1_000) }
        let lab = LinkSimulator(up: links, down: links, payloadRate: 750)
        lab.run(seconds: 22)
        #expect(lab.upstream.lossShare < 0.01 && lab.downstream.lossShare < 0.01, "\(Self.describe(lab))")
        let inOrder = { lab.upstream.outOfOrderShare < 0.1 && lab.downstream.outOfOrderShare < 0.1 }
        guard perByte else {
            withKnownIssue("on a link that counts datagrams, a report or probe costs a payload's slot unforeseen") {
                #expect(inOrder(), "\(Self.describe(lab))")
            }
            return
        }
        #expect(inOrder(), "\(Self.describe(lab))")
        // Without jitter the scheduler's plan holds to within 5%: a slower path left draining
        // at twice its estimate (a first startup that never ended) put 7.5% out of order up.
        if jitterMicroseconds == 0 {
            let planned = lab.upstream.outOfOrderShare < 0.05 && lab.downstream.outOfOrderShare < 0.05
            #expect(planned, "\(Self.describe(lab))")
        }
    }

    @Test("1,000 up/100 down on one link, 100 up/1,000 down on the other, 900/s each way: under 1% lost")
    func asymmetricLinks() {
        let lab = LinkSimulator(up: Self.links([1_000, 100]), down: Self.links([100, 1_000]), payloadRate: 900)
        lab.run(seconds: 22)
        #expect(lab.upstream.lossShare < 0.01 && lab.downstream.lossShare < 0.01, "\(Self.describe(lab))")
    }

    @Test("1,000 + 1,000/s at 1,000/s, one link down to 300/s at 10 s: under 1% lost over the next 5 s")
    func linkSlowsDown() {
        let lab = LinkSimulator(
            up: Self.links([1_000, 1_000]), down: Self.links([1_000, 1_000]), payloadRate: 1_000)
        lab.run(seconds: 17, measureAfter: 12) { second, lab in
            guard second == 12 else { return }
            lab.up[1].rate = 300
            lab.down[1].rate = 300
        }
        #expect(lab.upstream.sent > 4_900)
        #expect(lab.upstream.lossShare < 0.01 && lab.downstream.lossShare < 0.01, "\(Self.describe(lab))")
    }

    @Test("a user's cap holds a path under it: 300/s asked of a 1,000/s link, with more offered than that")
    func userCap() {
        // 1,400/s offered to 1,000/s + 300/s: the capped path carries 300/s at most (frames,
        // probes and reports together), though its line could carry 1,000/s, and its
        // estimate stays at the cap or under.
        let lab = LinkSimulator(
            up: Self.links([1_000, 1_000]), down: Self.links([1_000, 1_000]), payloadRate: 1_400,
            rateCaps: [nil, .datagramsPerSecond(300)])
        lab.run(seconds: 12)
        let rate = lab.client.loads?.loads[1].rate ?? 0
        let carried = Double(lab.client.loads?.loads[1].payloads ?? 0) / 10
        #expect(rate <= 300 * 1_260 && rate > 250 * 1_260, "\(rate)")
        #expect(carried <= 300 && carried > 250, "\(carried)/s, \(Self.describe(lab))")
    }
}
