import Testing
import MPLabSupport
@testable import MPCore

/// One hostile party in the middle (a bridge, a sender that can reach mpserver, a keyless
/// injector) costs at most its own path, never the session (issue: hostile middle).
@Suite("Hostile middle")
struct HostileMiddleTests {
    static let keyring = Keyring(key: try! PreSharedKey(bytes: (0..<32).map { UInt8($0 ^ 0x5a) }))

    /// Writes `value` big-endian at `offset` of `frame` (an attacker editing a header).
    static func write(_ value: UInt64, at offset: Int, in frame: inout [UInt8]) {
        frame.withUnsafeMutableBytes {
            var writer = ByteWriter($0, offset: offset)
            writer.write(value)
        }
    }

    @Test("a bridge that rewrites the path ids of its copies and drops replies costs only its own path")
    func pathRewritingBridge() {
        let tunnel = TunnelHarness(paths: 3, keyring: Self.keyring)
        var turn: UInt8 = 0
        // Path 0 is the fastest (its copies arrive first) and names 0, 1, 2 in turn.
        tunnel.upstreamTamper[0] = { frame in
            frame[FrameLayout.pathIDOffset] = turn
            turn = (turn + 1) % 3
            return true
        }
        tunnel.downstreamBlackholes = [0]
        tunnel.establish()
        #expect(tunnel.client.isAccepted)
        var answered = 0
        for index in 0..<300 {
            tunnel.send([UInt8(truncatingIfNeeded: index)])
            let before = tunnel.toApplication.count
            tunnel.reply([UInt8(truncatingIfNeeded: index)], flow: tunnel.toTarget.last?.flow ?? 1)
            if tunnel.toApplication.count > before { answered += 1 }
            if index % 50 == 49 { tunnel.advance(.seconds(1)) }
        }
        let session = tunnel.server.sessions[tunnel.client.sessionID]
        #expect(answered == 300)
        #expect(session?.pathAddresses[1] == tunnel.bridgeAddress(1))
        #expect(session?.pathAddresses[2] == tunnel.bridgeAddress(2))
        // The bridge's rewritten probes fail to authenticate: counted, and its path goes down.
        #expect(tunnel.server.drops[.authenticationFailed] > 0)
    }

    @Test("a bridge that rewrites path ids never names another path's last frame in mpserver's reports")
    func pathRewritingBridgeAndDepartures() {
        let tunnel = TunnelHarness(paths: 2, keyring: Self.keyring, mode: .balance)
        // Path 0's bridge names path 1 on every copy it carries.
        tunnel.upstreamTamper[0] = { frame in
            frame[FrameLayout.pathIDOffset] = 1
            return true
        }
        tunnel.establish()
        let sequence = { (frame: [UInt8]) in
            frame[FrameLayout.sequenceOffset..<(FrameLayout.sequenceOffset + 8)].reduce(UInt64(0)) {
                $0 << 8 | UInt64($1)
            }
        }
        var onPathOne = Set<UInt64>()
        var misnamed = 0
        for index in 0..<200 {
            tunnel.send([UInt8(truncatingIfNeeded: index)])
            // What mpclient sent on path 1 itself (the copies as they left it, before any bridge).
            for frame in tunnel.capturedUpstream where frame[FrameLayout.pathIDOffset] == 1 {
                onPathOne.insert(sequence(frame))
            }
            let named = tunnel.server.sessions[tunnel.client.sessionID]?.paths[1].lastFreshSequence ?? 0
            if named != 0, !onPathOne.contains(named) { misnamed += 1 }
            if index % 50 == 49 { tunnel.advance(.seconds(1)) }
        }
        #expect(misnamed == 0, "after \(misnamed) of 200 payloads path 1's last fresh frame had left on path 0")
        #expect(tunnel.toTarget.count == 200)
    }

    @Test("a probe replayed from another address, before or after the real one, moves no path")
    func replayedProbe() {
        let tunnel = TunnelHarness(paths: 2, keyring: Self.keyring)
        tunnel.establish()
        tunnel.advance(.seconds(2))
        let session = tunnel.server.sessions[tunnel.client.sessionID]
        let probes = tunnel.capturedUpstream.filter { $0[FrameLayout.typeOffset] == FrameType.probe.rawValue }
        for probe in probes { tunnel.deliverUpstream(probe, from: 6_666) }
        #expect(session?.pathAddresses[0] == tunnel.bridgeAddress(0))
        #expect(session?.pathAddresses[1] == tunnel.bridgeAddress(1))
    }

    @Test("a sender that copies path 1's probes and races them to mpserver never takes the path")
    func racingCopier() {
        let tunnel = TunnelHarness(paths: 2, keyring: Self.keyring)
        tunnel.establish()
        // From now on every probe of path 1 reaches mpserver first from the copier's address,
        // then from the bridge.
        tunnel.upstreamTamper[1] = { frame in
            if frame[FrameLayout.typeOffset] == FrameType.probe.rawValue { tunnel.deliverUpstream(frame, from: 6_666) }
            return true
        }
        tunnel.advance(.seconds(10))
        let session = tunnel.server.sessions[tunnel.client.sessionID]
        #expect(session?.pathAddresses[1] == tunnel.bridgeAddress(1))
        // The bridge's copies of two probes in a row are lost: the copier takes the path,
        // and gives it back with the next copy of the latest probe from the bridge.
        var lost = 0
        tunnel.upstreamTamper[1] = { frame in
            guard frame[FrameLayout.typeOffset] == FrameType.probe.rawValue else { return true }
            tunnel.deliverUpstream(frame, from: 6_666)
            lost += 1
            return lost > 2
        }
        tunnel.advance(.seconds(2))
        #expect(session?.pathAddresses[1] == 6_666)
        tunnel.advance(.seconds(1))
        #expect(session?.pathAddresses[1] == tunnel.bridgeAddress(1))
        tunnel.advance(.seconds(5))
        #expect(session?.pathAddresses[1] == tunnel.bridgeAddress(1))
        // A path whose bridge address really changed (NAT rebinding) follows at the second probe.
        tunnel.upstreamTamper[1] = { frame in
            tunnel.deliverUpstream(frame, from: 7_777)
            return false
        }
        tunnel.advance(.seconds(1))
        #expect(session?.pathAddresses[1] == tunnel.bridgeAddress(1))
        tunnel.advance(.seconds(1))
        #expect(session?.pathAddresses[1] == 7_777)
    }

    @Test("keyless: one frame with sequence number 2^64-1 does not wedge either direction")
    func keylessJump() {
        let tunnel = TunnelHarness(paths: 2)
        tunnel.establish()
        tunnel.send([1])
        let flow = tunnel.toTarget[0].flow
        // Upstream: the injected frame is held back; the live stream goes on.
        var forged = tunnel.capturedUpstream.last!
        Self.write(UInt64.max, at: FrameLayout.sequenceOffset, in: &forged)
        tunnel.deliverUpstream(forged, from: 6_666)
        #expect(tunnel.server.drops[.unconfirmedJump] == 1)
        for index in 2..<100 { tunnel.send([UInt8(index)]) }
        #expect(tunnel.toTarget.count == 99)
        // Downstream, injected from a bridge's address.
        tunnel.reply([1], flow: flow)
        var down = tunnel.capturedDownstream.last!
        Self.write(UInt64.max, at: FrameLayout.sequenceOffset, in: &down)
        tunnel.deliverDownstream(down, path: 0)
        #expect(tunnel.client.drops[.unconfirmedJump] == 1)
        for index in 2..<100 { tunnel.reply([UInt8(index)], flow: flow) }
        #expect(tunnel.toApplication.count == 99)
    }

    @Test("keyless: a second frame near a far one confirms the jump (a long outage heals)")
    func keylessJumpConfirmed() {
        var confirmation = JumpConfirmation()
        let cases: [(sequence: UInt64, highest: UInt64, admitted: Bool)] = [
            (5, 0, true),  // a new window takes anything
            (16_000, 10, true),  // within the window's reach
            (100_000, 10, false),  // far ahead: held back
            (100_000, 10, false),  // the same frame again confirms nothing
            (100_001, 10, true),  // a second frame near it confirms
            (UInt64.max, 100_001, false),
            (200_000, 100_001, false),  // far from both: a new candidate
        ]
        let verdicts = cases.map { confirmation.admits($0.sequence, highest: $0.highest) }
        #expect(verdicts == cases.map(\.admitted))
    }

    @Test("an acceptance is not handed to a frame far from the session's numbers")
    func acceptanceOracle() {
        let tunnel = TunnelHarness(paths: 1)
        tunnel.establish()
        for index in 0..<10 { tunnel.send([UInt8(index)]) }
        let acceptancesBefore = tunnel.capturedDownstream.count
        var probe = tunnel.capturedUpstream.last!
        Self.write(0, at: FrameLayout.serverTagOffset, in: &probe)
        Self.write(UInt64.max, at: FrameLayout.sequenceOffset, in: &probe)
        tunnel.now = tunnel.now + .seconds(1)
        tunnel.deliverUpstream(probe, from: 6_666)
        #expect(tunnel.capturedDownstream.count == acceptancesBefore)
        #expect(tunnel.server.drops[.staleServerTag] == 1)
    }

    @Test("with a key, frames of forged session ids cost no key derivation and create nothing")
    func forgedSessions() {
        let server = ServerEngine<Int>(keyring: Self.keyring)
        var random = SplitMix64(seed: 9)
        var frame = [UInt8](repeating: 0, count: 64)
        var reply = [UInt8](repeating: 0, count: 64)
        for index in 0..<10_000 {
            frame.withUnsafeMutableBytes {
                FrameHeader(
                    type: .probe, flags: .authenticated, sessionID: random.next() | 1, serverTag: 0,
                    sequence: UInt64(index + 1)
                ).encode(into: $0)
            }
            _ = frame.withUnsafeMutableBytes { bytes in
                reply.withUnsafeMutableBytes {
                    server.receiveFrame(bytes, from: 1, now: ms(1_000), reply: $0, using: &random)
                }
            }
        }
        #expect(server.sessions.isEmpty)
        #expect(server.drops[.authenticationFailed] == 10_000)
    }

    @Test("frames of unknown sessions are opened at most newSessionAttemptsPerSecond a second")
    func newSessionBudget() {
        var bucket = TokenBucket(rate: 2_000)
        let first = (0..<5_000).filter { _ in bucket.take(now: ms(1_000)) }.count
        let halfSecondLater = (0..<5_000).filter { _ in bucket.take(now: ms(1_500)) }.count
        #expect(first == 2_000)
        #expect(halfSecondLater == 1_000)
        let server = ServerEngine<Int>()
        #expect(server.newSessionBudget.rate == Defaults.newSessionAttemptsPerSecond)
    }

    @Test("a full table of live sessions refuses new ones; a session silent 3 s gives way")
    func liveSessionsKept() {
        let server = ServerEngine<Int>(maximumSessions: 2)
        var random = SplitMix64(seed: 4)
        var reply = [UInt8](repeating: 0, count: 64)
        func probe(_ id: UInt64, at time: Timestamp) -> ServerEngine<Int>.Inbound {
            var frame = [UInt8](repeating: 0, count: 40)
            frame.withUnsafeMutableBytes {
                FrameHeader(type: .probe, sessionID: id, serverTag: 0, sequence: 1).encode(into: $0)
            }
            return frame.withUnsafeMutableBytes { bytes in
                reply.withUnsafeMutableBytes {
                    server.receiveFrame(bytes, from: 1, now: time, reply: $0, using: &random)
                }
            }
        }
        _ = probe(1, at: ms(1_000))
        _ = probe(2, at: ms(2_000))
        if case .dropped(.sessionLimit) = probe(3, at: ms(3_500)) {} else { Issue.record("a live session gave way") }
        #expect(server.sessions.keys.sorted() == [1, 2])
        if case .reply = probe(3, at: ms(4_000)) {} else { Issue.record("session 1, silent 3 s, was not replaced") }
        #expect(server.sessions.keys.sorted() == [2, 3])
    }

    @Test("2,000 local ports in a burst neither displace the live flow nor block a new one for long")
    func flowBurst() {
        var table = FlowTable<Int>(capacity: Defaults.maximumFlowsPerSession)
        let live = 1
        var now = ms(1_000)
        for _ in 0..<4 {  // the application's handshake: established
            _ = table.flowID(for: live, now: now)
            _ = table.address(of: 1, now: now)
        }
        #expect(table.isEstablished(live))
        let liveID = table.flowID(for: live, now: now)
        var refused = 0
        for port in 0..<2_000 {
            now = now + TimeSpan(nanoseconds: 10_000)
            if table.flowID(for: 10_000 + port, now: now) == nil { refused += 1 }
            if port % 100 == 0 { #expect(table.flowID(for: live, now: now) == liveID) }
        }
        #expect(table.count == Defaults.maximumFlowsPerSession)
        #expect(refused == 2_000 - (Defaults.maximumFlowsPerSession - 1))
        // The strays' places free up half a second after the burst; until then a new address waits.
        #expect(table.flowID(for: 2, now: now + .milliseconds(100)) == nil)
        let newcomer = table.flowID(for: 2, now: now + Defaults.flowDisplaceableAfter)
        #expect(newcomer != nil && newcomer != liveID)
        #expect(table.flowID(for: live, now: now + .seconds(1)) == liveID)
    }

    @Test("an idle, not established flow gives way; an established one is kept until it expires")
    func flowDisplacement() {
        var table = FlowTable<Int>(capacity: 2)
        let established = table.flowID(for: 1, now: ms(0))
        for _ in 0..<4 {
            _ = table.flowID(for: 1, now: ms(0))
            _ = table.address(of: established ?? 0, now: ms(0))
        }
        #expect(table.flowID(for: 2, now: ms(0)) != nil)  // a stray, given the free place
        #expect(table.flowID(for: 3, now: ms(10_000)) != nil)  // takes the stray's place
        #expect(table.flowID(for: 2, now: ms(10_000)) == nil)  // 1 is established, 3 active: refused
        #expect(table.flowID(for: 4, now: ms(20_000)) != nil)  // takes the place of 3, idle, not of 1
        #expect(table.flowID(for: 1, now: ms(20_000)) == established)
    }
}

/// R18b with fast probes: mpclient probes every 100 ms at times, so a path's fresh probes
/// from a new address move it only once they span `addressMoveSpan` (900 ms), and a copy of
/// the candidate's probe from the current address still cancels the move.
@Suite("R18b: address moves span 900 ms")
struct AddressMoveSpanTests {
    @Test("probes 100 ms apart from a new address move the path only after 900 ms")
    func moveNeedsSpan() {
        let session = ServerSession<Int>(
            sessionID: 1, serverTag: 2, now: ms(1_000), upstream: .keyless, keyring: .keyless)
        session.probeHeard(on: 0, from: 10, sequence: 1, now: ms(1_000))
        #expect(session.pathAddresses[0] == 10)
        for step in UInt64(1)...8 {
            session.probeHeard(on: 0, from: 20, sequence: 1 + step, now: ms(1_000 + step * 100))
            #expect(session.pathAddresses[0] == 10, "moved after \(step) probes, \(step * 100 - 100) ms")
        }
        session.probeHeard(on: 0, from: 20, sequence: 10, now: ms(1_900))
        #expect(session.pathAddresses[0] == 10, "800 ms since the first")
        session.probeHeard(on: 0, from: 20, sequence: 11, now: ms(2_000))
        #expect(session.pathAddresses[0] == 20, "900 ms since the first")
    }
}
