import Testing

@testable import MPCore

/// `fastest-copies N`: in duplicate mode the fastest path carries N copies of each payload,
/// and mpserver mirrors it for the replies (R21).
@Suite("Duplicate mode: copies on the fastest path")
struct FastestCopiesTests {
    @Test("the path with the lowest base round trip gets the copies; none in balance mode or with 1")
    func fastestPathPicked() {
        let session = ClientSession<Int>(sessionID: 0xC11E_0009, pathCount: 3, fastestCopies: .fixed(2))
        #expect(session.fastestPath(among: .first(3), now: ms(900)) == nil, "no round trip measured yet")
        for (path, milliseconds) in [(0, 30), (1, 10), (2, 60)] as [(Int, UInt64)] {
            session.health[path].recordProbe(now: ms(1_000))
            session.health[path].recordEcho(sentAt: ms(1_000), now: ms(1_000 + milliseconds))
        }
        #expect(session.fastestPath(among: .first(3), now: ms(2_000)).map { [$0.path, $0.copies] } == [1, 2])
        #expect(session.fastestPath(among: PathSet(path: 0).union(PathSet(path: 2)), now: ms(2_000))?.path == 0)
        let single = ClientSession<Int>(sessionID: 0xC11E_000A, pathCount: 3)
        let balance = ClientSession<Int>(sessionID: 0xC11E_000B, pathCount: 3, mode: .balance, fastestCopies: .fixed(2))
        for other in [single, balance] {
            other.health[0].recordProbe(now: ms(1_000))
            other.health[0].recordEcho(sentAt: ms(1_000), now: ms(1_010))
            #expect(other.fastestPath(among: .first(3), now: ms(2_000)) == nil)
        }
        // auto: a second copy only while the fastest path loses 1% or more either way.
        let auto = ClientSession<Int>(sessionID: 0xC11E_000C, pathCount: 2, fastestCopies: .auto)
        auto.health[1].recordProbe(now: ms(1_000))
        auto.health[1].recordEcho(sentAt: ms(1_000), now: ms(1_005))
        #expect(auto.fastestPath(among: .first(2), now: ms(2_000)) == nil, "loss not known")
        auto.paths[1].peerReportedLoss = 0.005
        #expect(auto.fastestPath(among: .first(2), now: ms(2_000)) == nil, "0.5% down")
        auto.paths[1].reportedLoss = 0.02
        #expect(auto.fastestPath(among: .first(2), now: ms(2_000)).map { [$0.path, $0.copies] } == [1, 2], "2% up")
        // A window that reads low keeps the copy for 30 s after the loss was last high.
        auto.paths[1].reportedLoss = 0
        auto.paths[1].peerReportedLoss = 0
        #expect(auto.fastestPath(among: .first(2), now: ms(31_999))?.copies == 2)
        #expect(auto.fastestPath(among: .first(2), now: ms(32_000)) == nil)
    }

    @Test("mpserver's mirror finds the repeated path and its copies; one copy per path is no repeat")
    func mirrorFindsRepeat() {
        var mirror = ReplyMirror()
        var now = ms(1_000)
        for _ in 0..<200 {
            mirror.recordData(path: 0, fresh: true, now: now)
            mirror.recordData(path: 0, fresh: false, now: now)
            mirror.recordData(path: 1, fresh: false, now: now)
            mirror.recordData(path: 2, fresh: false, now: now)
            now = now + .milliseconds(10)
        }
        _ = mirror.dataPaths(heard: .first(3), now: now + .seconds(1))
        #expect(mirror.repeatPath == 0 && mirror.repeatCopies == 2)
        #expect(mirror.copies(onPath: 0) == 2 && mirror.copies(onPath: 1) == 1)
        var plain = ReplyMirror()
        for _ in 0..<200 {
            for path in 0..<3 { plain.recordData(path: path, fresh: path == 0, now: now) }
            now = now + .milliseconds(10)
        }
        _ = plain.dataPaths(heard: .first(3), now: now + .seconds(1))
        #expect(plain.repeatPath == nil && plain.copies(onPath: 0) == 1)
    }

    /// Three paths losing 5% each way, 4,000 payloads each way: with 2 copies on path 0 (the
    /// harness's paths are equally fast, so path 0, the first, is the fastest) path 0 misses
    /// about 0.25% of them (both copies lost) instead of 5%, both ways; a payload it misses
    /// is the one a slower path brings late.
    @Test("5% loss each way: two copies on the fastest path leave it missing 0.25% of payloads, not 5%")
    func fastPathMissesLess() {
        for copies in [1, 2] {
            let tunnel = TunnelHarness(paths: 3, seed: 11, fastestCopies: .fixed(copies))
            tunnel.establish()
            tunnel.advance(.seconds(3), step: .milliseconds(100))
            tunnel.lossRates = [0.05, 0.05, 0.05]
            var missedUp = 0
            var missedDown = 0
            for index in 0..<4_000 {
                let payload = [UInt8(index >> 8), UInt8(index & 0xFF)]
                let before = tunnel.server.sessions.values.first?.paths[0].framesReceived ?? 0
                tunnel.send(payload)
                if (tunnel.server.sessions.values.first?.paths[0].framesReceived ?? 0) == before { missedUp += 1 }
                let beforeDown = tunnel.downstreamFrames[0]
                tunnel.reply(payload, flow: tunnel.toTarget[0].flow)
                if tunnel.downstreamFrames[0] == beforeDown { missedDown += 1 }
                if index % 100 == 0 { tunnel.advance(.milliseconds(100), step: .milliseconds(100)) }
            }
            let expected = copies == 1 ? 100...300 : 0...30
            #expect(expected.contains(missedUp), "copies \(copies): path 0 missed \(missedUp) of 4,000 upstream")
            #expect(expected.contains(missedDown), "copies \(copies): path 0 missed \(missedDown) of 4,000 downstream")
        }
    }
}
