import Testing
import MPLabSupport
@testable import MPCore

/// The tunnel harness with a key on both sides, on one side, or different keys on each.
@Suite("Keyed tunnel")
struct KeyedTunnelTests {
    static let keyring = Keyring(key: SealingTests.key)
    static let otherKeyring = Keyring(key: SealingTests.otherKey)

    @Test("with a key on both sides payloads flow both ways, sealed or authenticated only", arguments: [true, false])
    func bothWays(encrypts: Bool) {
        let tunnel = TunnelHarness(paths: 3, keyring: Keyring(key: SealingTests.key, encrypts: encrypts))
        tunnel.establish()
        #expect(tunnel.client.isAccepted)
        tunnel.send(Array("up".utf8))
        tunnel.reply(Array("down".utf8), flow: tunnel.toTarget[0].flow)
        #expect(tunnel.toTarget.map(\.payload) == [Array("up".utf8)])
        #expect(tunnel.toApplication.map(\.payload) == [Array("down".utf8)])
        let flags = encrypts ? FrameFlags([.authenticated, .encrypted]).rawValue : FrameFlags.authenticated.rawValue
        #expect(tunnel.capturedUpstream.allSatisfy { $0[FrameLayout.flagsOffset] == flags })
        #expect(tunnel.capturedDownstream.allSatisfy { $0[FrameLayout.flagsOffset] == flags })
        #expect(tunnel.server.drops[.authenticationFailed] == 0)
        #expect(tunnel.client.drops[.authenticationFailed] == 0)
    }

    @Test("an encrypting side and an authenticate-only side understand each other")
    func mixedModes() {
        let tunnel = TunnelHarness(paths: 2, keyring: Keyring(key: SealingTests.key, encrypts: false))
        tunnel.server = ServerEngine(keyring: Self.keyring)
        tunnel.establish()
        tunnel.send([1, 2, 3])
        tunnel.reply([4], flow: tunnel.toTarget[0].flow)
        #expect(tunnel.toTarget.map(\.payload) == [[1, 2, 3]])
        #expect(tunnel.toApplication.map(\.payload) == [[4]])
    }

    @Test("three lossy paths with a key lose about what they lose without, and deliver no duplicate")
    func lossyPaths() {
        let tunnel = TunnelHarness(paths: 3, loss: 0.2, seed: 9, keyring: Self.keyring)
        tunnel.establish()
        for index in 0..<2_000 { tunnel.send([UInt8(truncatingIfNeeded: index), UInt8(index >> 8)]) }
        let received = Set(tunnel.toTarget.map(\.payload))
        #expect(received.count == tunnel.toTarget.count)
        #expect(tunnel.toTarget.count > 1_950)
    }

    @Test("different keys, or a key on one side only: nothing is delivered, the cause is counted")
    func mismatches() {
        let cases: [(client: Keyring, server: Keyring, serverDrop: DropReason)] = [
            (Self.keyring, Self.otherKeyring, .authenticationFailed),
            (Self.keyring, .keyless, .unexpectedAuthentication),
            (.keyless, Self.keyring, .missingAuthentication),
        ]
        for (client, server, serverDrop) in cases {
            let tunnel = TunnelHarness(paths: 2, keyring: client)
            tunnel.server = ServerEngine(keyring: server)
            tunnel.establish(limit: 3)
            tunnel.send([1])
            #expect(!tunnel.client.isAccepted)
            #expect(tunnel.toTarget.isEmpty)
            #expect(tunnel.server.sessions.isEmpty)
            #expect(tunnel.server.drops[serverDrop] > 0)
        }
    }

    @Test("with a key, unauthenticated or forged datagrams create no state and get no reply")
    func noReflection() {
        let tunnel = TunnelHarness(paths: 2, keyring: Self.keyring)
        var random = SplitMix64(seed: 21)
        let keyless = TunnelHarness(paths: 1, sessionID: 0xBAD, keyring: .keyless)
        keyless.tick()
        let forged = TunnelHarness(paths: 1, sessionID: 0xBAD2, keyring: Self.otherKeyring)
        forged.tick()
        var attempts = keyless.capturedUpstream + forged.capturedUpstream
        for _ in 0..<5_000 {
            var frame = (0..<Int(40 + random.next() % 60)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            frame[0] = FrameLayout.version
            frame[1] = random.next() % 2 == 0 ? FrameType.probe.rawValue : FrameType.upstreamData.rawValue
            frame[2] = UInt8(random.next() % 4)
            frame[3] = 0
            attempts.append(frame)
        }
        for frame in attempts {
            var frame = frame
            var reply = [UInt8](repeating: 0, count: 64)
            let verdict = frame.withUnsafeMutableBytes { bytes in
                reply.withUnsafeMutableBytes {
                    tunnel.server.receiveFrame(bytes, from: 7, now: tunnel.now, reply: $0, using: &random)
                }
            }
            guard case .dropped = verdict else {
                Issue.record("an unauthenticated frame got \(verdict)")
                return
            }
        }
        #expect(tunnel.server.sessions.isEmpty)
        #expect(tunnel.server.sessionsCreated == 0)
        tunnel.establish()
        tunnel.send([1])
        #expect(tunnel.toTarget.map(\.payload) == [[1]])
    }

    @Test("with a key, captured frames replayed at once, later, or after mpserver restarted deliver nothing")
    func replays() {
        let tunnel = TunnelHarness(paths: 2, keyring: Self.keyring)
        tunnel.establish()
        for index in 0..<100 { tunnel.send([UInt8(index)]) }
        let captured = tunnel.capturedUpstream
        let delivered = tunnel.toTarget.count
        for frame in captured { tunnel.deliverUpstream(frame, from: 6_666) }
        #expect(tunnel.toTarget.count == delivered)
        tunnel.restartServer()
        for frame in captured { tunnel.deliverUpstream(frame, from: 6_666) }
        #expect(tunnel.toTarget.count == delivered)
        // The replays recreated the session under a new tag (they are authentic), but delivered
        // nothing; the client's next frame is answered by an acceptance and the tunnel heals.
        tunnel.now = tunnel.now + .seconds(1)
        tunnel.send([200])
        tunnel.send([201])
        #expect(tunnel.toTarget.last?.payload == [201])
    }

    @Test("with a key, a frame replayed after 20,000 later frames is too old")
    func lateReplay() {
        let tunnel = TunnelHarness(paths: 1, keyring: Self.keyring)
        tunnel.establish()
        tunnel.send([0])
        let first = tunnel.capturedUpstream.last!
        for index in 0..<20_000 { tunnel.send([UInt8(truncatingIfNeeded: index)]) }
        let delivered = tunnel.toTarget.count
        tunnel.deliverUpstream(first, from: 6_666)
        #expect(tunnel.toTarget.count == delivered)
        #expect(tunnel.server.drops[.tooOld] == 1)
    }

    @Test("with a key, a restarted mpserver heals with the next frame and keys the new incarnation anew")
    func serverRestart() {
        let tunnel = TunnelHarness(paths: 2, keyring: Self.keyring)
        tunnel.establish()
        let firstTag = tunnel.client.serverTag
        tunnel.send([1])
        let oldDownstream = tunnel.capturedDownstream
        tunnel.restartServer()
        tunnel.send([2])
        #expect(tunnel.client.serverTag != firstTag)
        tunnel.send([3])
        tunnel.reply([4], flow: tunnel.toTarget[1].flow)
        #expect(tunnel.toTarget.map(\.payload) == [[1], [3]])
        #expect(tunnel.toApplication.map(\.payload) == [[4]])
        let tag = tunnel.client.serverTag
        for frame in oldDownstream { tunnel.deliverDownstream(frame, path: 0) }
        #expect(tunnel.client.serverTag == tag)
        #expect(tunnel.toApplication.count == 1)
    }

    @Test("with a key, a restarted mpclient is a new session with new keys; old frames stay apart")
    func clientRestart() {
        let tunnel = TunnelHarness(paths: 2, keyring: Self.keyring)
        tunnel.establish()
        tunnel.send([1])
        let oldFrames = tunnel.capturedUpstream
        tunnel.restartClient(sessionID: 0xC11E_0002)
        tunnel.establish()
        tunnel.send([2])
        for frame in oldFrames { tunnel.deliverUpstream(frame, from: 6_666) }
        #expect(tunnel.toTarget.map(\.payload) == [[1], [2]])
        #expect(tunnel.server.sessions.count == 2)
    }

    @Test("with a key, downstream frames replayed deliver nothing")
    func downstreamReplay() {
        let tunnel = TunnelHarness(paths: 2, keyring: Self.keyring)
        tunnel.establish()
        tunnel.send([1])
        for index in 0..<50 { tunnel.reply([UInt8(index)], flow: tunnel.toTarget[0].flow) }
        let delivered = tunnel.toApplication.count
        #expect(delivered == 50)
        for frame in tunnel.capturedDownstream { tunnel.deliverDownstream(frame, path: 0) }
        #expect(tunnel.toApplication.count == delivered)
    }

    @Test("with a key, bit-flipped captured frames never reach the target or the application")
    func bitFlips() {
        let tunnel = TunnelHarness(paths: 2, seed: 4, keyring: Self.keyring)
        tunnel.establish()
        tunnel.send(Array("captured upstream".utf8))
        tunnel.reply(Array("captured downstream".utf8), flow: tunnel.toTarget[0].flow)
        let upstream = tunnel.capturedUpstream.last!
        let downstream = tunnel.capturedDownstream.last!
        var random = SplitMix64(seed: 8)
        let (targetCount, applicationCount) = (tunnel.toTarget.count, tunnel.toApplication.count)
        for _ in 0..<5_000 {
            var up = upstream
            var down = downstream
            let bit = Int(random.next() % UInt64(up.count * 8))
            if bit / 8 != FrameLayout.pathIDOffset { up[bit / 8] ^= 1 << (bit % 8) }
            let downBit = Int(random.next() % UInt64(down.count * 8))
            if downBit / 8 != FrameLayout.pathIDOffset { down[downBit / 8] ^= 1 << (downBit % 8) }
            tunnel.deliverUpstream(up, from: 1_000)
            tunnel.deliverDownstream(down, path: 0)
        }
        #expect(tunnel.toTarget.count == targetCount)
        #expect(tunnel.toApplication.count == applicationCount)
    }
}
