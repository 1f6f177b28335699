import Testing
import MPLabSupport
@testable import MPCore

@Suite("Restarts and replays")
struct RestartAndReplayTests {
    @Test("a restarted mpserver is healed by the next frame: acceptance, new tag, data again")
    func serverRestart() {
        let tunnel = TunnelHarness(paths: 2)
        tunnel.establish()
        let firstTag = tunnel.client.serverTag
        tunnel.send([1])
        tunnel.server = ServerEngine()
        tunnel.send([2])  // stamped with the old tag: answered by an acceptance, not delivered
        #expect(tunnel.client.serverTag != firstTag)
        tunnel.send([3])
        #expect(tunnel.toTarget.map(\.payload) == [[1], [3]])
        tunnel.reply([4], flow: tunnel.toTarget[1].flow)
        #expect(tunnel.toApplication.map(\.payload) == [[4]])
    }

    /// mpserver is gone for a second while the application sends, then back (restarted):
    /// mpclient, hearing nothing since its payloads, probes every 100 ms, so it is accepted
    /// again within a tick of mpserver's return, though the application sends nothing more
    /// (a TCP sender backs off its retransmissions to a second and more).
    @Test("while the application sends into silence, probes go every 100 ms: a restart is found in a tick")
    func silenceProbesFast() {
        let tunnel = TunnelHarness(paths: 3)
        tunnel.establish()
        tunnel.advance(.seconds(2), step: .milliseconds(100))
        let firstTag = tunnel.client.serverTag
        tunnel.lossRates = [1, 1, 1]  // mpserver is down: nothing arrives
        tunnel.send([1])
        tunnel.advance(.milliseconds(400), step: .milliseconds(100))
        #expect(!tunnel.client.isSilentWhileSending(now: tunnel.now), "silence of 400 ms is not yet an outage")
        tunnel.advance(.milliseconds(600), step: .milliseconds(100))
        #expect(tunnel.client.isSilentWhileSending(now: tunnel.now))
        tunnel.server = ServerEngine()
        tunnel.lossRates = [0, 0, 0]
        let back = tunnel.now
        while tunnel.client.serverTag == firstTag, tunnel.now - back < .seconds(2) {
            tunnel.advance(.milliseconds(100), step: .milliseconds(100))
        }
        #expect(tunnel.client.serverTag != firstTag)
        #expect(
            tunnel.now - back <= .milliseconds(100),
            "accepted again \((tunnel.now - back).nanoseconds / 1_000_000) ms after")
        #expect(!tunnel.client.isSilentWhileSending(now: tunnel.now))
    }

    @Test("an idle application: silence alone does not make probes faster")
    func idleSilenceProbesSlowly() {
        let tunnel = TunnelHarness(paths: 1)
        tunnel.establish()
        tunnel.lossRates = [1]
        tunnel.advance(.seconds(3), step: .milliseconds(100))
        #expect(!tunnel.client.isSilentWhileSending(now: tunnel.now))
        #expect(tunnel.client.health[0].probesSent <= 5)
    }

    @Test("a restarted mpclient is a new session; the old one stays apart until it expires")
    func clientRestart() {
        let tunnel = TunnelHarness(paths: 2)
        tunnel.establish()
        tunnel.send([1])
        tunnel.client = ClientSession(sessionID: 0xC11E_0002, pathCount: 2)
        tunnel.establish()
        tunnel.send([2])
        #expect(tunnel.toTarget.map(\.payload) == [[1], [2]])
        #expect(tunnel.server.sessions.count == 2)
        tunnel.now = tunnel.now + Defaults.sessionIdleTimeout
        var expired: [UInt64] = []
        tunnel.server.expire(idleFor: Defaults.sessionIdleTimeout, now: tunnel.now) { expired.append($0.sessionID) }
        #expect(expired.count == 2)
        #expect(tunnel.server.sessions.isEmpty)
    }

    @Test("captured frames replayed at once, later, or after mpserver restarted deliver nothing")
    func replays() {
        let tunnel = TunnelHarness(paths: 2)
        tunnel.establish()
        for index in 0..<100 { tunnel.send([UInt8(index)]) }
        let captured = tunnel.capturedUpstream
        let delivered = tunnel.toTarget.count
        for frame in captured { tunnel.deliverUpstream(frame, from: 6_666) }
        #expect(tunnel.toTarget.count == delivered)
        tunnel.server = ServerEngine()
        for frame in captured { tunnel.deliverUpstream(frame, from: 6_666) }
        #expect(tunnel.toTarget.count == delivered)
    }

    @Test("a replayed acceptance of an earlier incarnation cannot roll the client back")
    func acceptanceReplay() {
        let tunnel = TunnelHarness(paths: 1)
        tunnel.establish()
        let oldAcceptances = tunnel.capturedDownstream
        tunnel.server = ServerEngine()
        tunnel.send([1])
        let newTag = tunnel.client.serverTag
        for frame in oldAcceptances { tunnel.deliverDownstream(frame, path: 0) }
        #expect(tunnel.client.serverTag == newTag)
        tunnel.send([2])
        #expect(tunnel.toTarget.map(\.payload) == [[2]])
    }

    @Test("downstream frames replayed deliver nothing")
    func downstreamReplay() {
        let tunnel = TunnelHarness(paths: 2)
        tunnel.establish()
        tunnel.send([1])
        for index in 0..<50 { tunnel.reply([UInt8(index)], flow: tunnel.toTarget[0].flow) }
        let delivered = tunnel.toApplication.count
        for frame in tunnel.capturedDownstream { tunnel.deliverDownstream(frame, path: 0) }
        #expect(tunnel.toApplication.count == delivered)
    }

    @Test("the session table is bounded; the session idle the longest goes first")
    func sessionBound() {
        let server = ServerEngine<Int>(maximumSessions: 4)
        var random = SplitMix64(seed: 3)
        var frame = [UInt8](repeating: 0, count: 48)
        var reply = [UInt8](repeating: 0, count: 64)
        var evicted: [UInt64] = []
        for id in UInt64(1)...10 {
            frame.withUnsafeMutableBytes {
                FrameHeader(type: .probe, sessionID: id, serverTag: 0, sequence: 1).encode(
                    into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<32]))
            }
            _ = frame.withUnsafeMutableBytes { bytes in
                reply.withUnsafeMutableBytes {
                    server.receiveFrame(
                        UnsafeMutableRawBufferPointer(rebasing: bytes[0..<40]), from: 1, now: ms(id * 4_000), reply: $0,
                        using: &random
                    ) { evicted.append($0.sessionID) }
                }
            }
        }
        #expect(server.sessions.count == 4)
        #expect(evicted == [1, 2, 3, 4, 5, 6])
    }

    @Test("garbage at either side is dropped and counted, never delivered")
    func garbage() {
        let tunnel = TunnelHarness(paths: 2, seed: 5)
        tunnel.establish()
        var random = SplitMix64(seed: 11)
        for _ in 0..<20_000 {
            let length = Int(random.next() % 100)
            var frame = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if length > 0, random.next() % 2 == 0 { frame[0] = 1 }
            tunnel.deliverUpstream(frame, from: 7)
            tunnel.deliverDownstream(frame, path: 1)
        }
        #expect(tunnel.toTarget.isEmpty)
        #expect(tunnel.toApplication.isEmpty)
        tunnel.send([1])
        #expect(tunnel.toTarget.count == 1)
    }
}
