import Testing
import MPLabSupport
@testable import MPCore

/// Receiver rules R11 and R17 as both sides apply them before authentication: a copy of a
/// sequence number already recorded is dropped without opening it, and only a frame that
/// authenticates records its number.
@Suite("Unopened duplicates")
struct UnopenedDuplicateTests {
    static let keyring = Keyring(key: SealingTests.key)

    /// `frame` with one bit of its authentication tag flipped: it can no longer authenticate.
    static func corrupted(_ frame: [UInt8]) -> [UInt8] {
        var frame = frame
        frame[frame.count - 1] ^= 0x01
        return frame
    }

    /// Why mpserver drops `frame` from `address`; `nil` when it delivers or replies instead.
    static func serverDrop(_ tunnel: TunnelHarness, _ frame: [UInt8], from address: Int) -> DropReason? {
        var frame = frame
        var reply = [UInt8](repeating: 0, count: 64)
        var random = SplitMix64(seed: 1)
        let verdict = frame.withUnsafeMutableBytes { bytes in
            reply.withUnsafeMutableBytes {
                tunnel.server.receiveFrame(bytes, from: address, now: tunnel.now, reply: $0, using: &random)
            }
        }
        guard case .dropped(let reason) = verdict else { return nil }
        return reason
    }

    /// An established keyed tunnel whose next upstream payload (`payload`) and next
    /// downstream payload were sealed and captured, but lost on every path.
    static func tunnelWithLostFrames(paths: Int = 3) -> (TunnelHarness, upstream: [UInt8], downstream: [UInt8]) {
        let tunnel = TunnelHarness(paths: paths, keyring: keyring)
        tunnel.establish()
        tunnel.send([1])
        tunnel.lossRates = Array(repeating: 1, count: paths)
        tunnel.send([2])
        tunnel.reply([3], flow: tunnel.toTarget[0].flow)
        tunnel.lossRates = Array(repeating: 0, count: paths)
        return (tunnel, tunnel.capturedUpstream[tunnel.capturedUpstream.count - paths], tunnel.capturedDownstream.last!)
    }

    @Test("a forged frame with a fresh sequence number is not recorded: the authentic copy is still delivered")
    func forgeryNotRecorded() {
        let (tunnel, upstream, downstream) = Self.tunnelWithLostFrames()
        #expect(Self.serverDrop(tunnel, Self.corrupted(upstream), from: 1_000) == .authenticationFailed)
        #expect(
            tunnel.deliverDownstream(Self.corrupted(downstream), path: 0) == .dropped(.authenticationFailed))
        tunnel.deliverUpstream(upstream, from: 1_000)
        tunnel.deliverDownstream(downstream, path: 1)
        #expect(tunnel.toTarget.map(\.payload) == [[1], [2]])
        #expect(tunnel.toApplication.map(\.payload) == [[3]])
        #expect(tunnel.server.drops[.authenticationFailed] == 1)
        #expect(tunnel.client.drops[.authenticationFailed] == 1)
    }

    @Test("a copy of a sequence number already delivered is dropped unopened, even one that would not authenticate")
    func seenCopyUnopened() {
        let (tunnel, upstream, downstream) = Self.tunnelWithLostFrames()
        tunnel.deliverUpstream(upstream, from: 1_000)
        tunnel.deliverDownstream(downstream, path: 0)
        let (serverDuplicates, clientDuplicates) = (tunnel.server.drops[.duplicate], tunnel.client.drops[.duplicate])
        // Opened, these would fail authentication; judged first by the window, they never are.
        #expect(Self.serverDrop(tunnel, Self.corrupted(upstream), from: 1_000) == .duplicate)
        #expect(tunnel.deliverDownstream(Self.corrupted(downstream), path: 2) == .dropped(.duplicate))
        #expect(tunnel.server.drops[.duplicate] == serverDuplicates + 1)
        #expect(tunnel.client.drops[.duplicate] == clientDuplicates + 1)
        #expect(tunnel.server.drops[.authenticationFailed] == 0)
        #expect(tunnel.client.drops[.authenticationFailed] == 0)
        #expect(tunnel.toTarget.count == 2)
        #expect(tunnel.toApplication.count == 1)
    }

    @Test("an unopened duplicate counts as the path heard from at mpclient, and nothing more")
    func clientHint() {
        let (tunnel, _, downstream) = Self.tunnelWithLostFrames()
        tunnel.deliverDownstream(downstream, path: 0)
        tunnel.now = tunnel.now + .milliseconds(500)
        let before = tunnel.client.paths[2]
        #expect(tunnel.deliverDownstream(Self.corrupted(downstream), path: 2) == .dropped(.duplicate))
        #expect(tunnel.client.paths[2].framesReceived == before.framesReceived + 1)
        #expect(tunnel.client.paths[2].duplicatesReceived == before.duplicatesReceived + 1)
        #expect(tunnel.client.health[2].lastHeard == tunnel.now)
        #expect(tunnel.toApplication.count == 1)
    }

    @Test("a duplicate from a new address moves no reply address, restarts no idle timer and draws no reply")
    func serverAddressKept() throws {
        let (tunnel, upstream, _) = Self.tunnelWithLostFrames(paths: 2)
        tunnel.deliverUpstream(upstream, from: 1_000)
        let session = try #require(tunnel.server.sessions[tunnel.client.sessionID])
        let (lastReceive, heard, copies) = (session.lastReceive, session.heardPaths, session.mirror.copies)
        tunnel.now = tunnel.now + .milliseconds(500)  // within the mirror's epoch
        var otherPath = upstream
        otherPath[FrameLayout.pathIDOffset] = 7
        for copy in [upstream, Self.corrupted(upstream), otherPath, Self.corrupted(otherPath)] {
            #expect(Self.serverDrop(tunnel, copy, from: 6_666) == .duplicate)
        }
        #expect(session.pathAddresses[0] == 1_000)
        #expect(session.pathAddresses[7] == nil)
        #expect(session.heardPaths == heard)
        #expect(session.lastReceive == lastReceive)
        // Statistics and the mirror's copy count take the hint (R21).
        #expect(session.paths[7].duplicatesReceived == 2)
        #expect(session.mirror.copies == copies + 4)
        // A fresh authentic data frame from the new address is delivered but moves no path;
        // a fresh probe does (R18: NAT rebinding is followed within a probe interval).
        tunnel.lossRates = [1, 1]
        tunnel.send([4])
        tunnel.deliverUpstream(tunnel.capturedUpstream[tunnel.capturedUpstream.count - 2], from: 6_666)
        #expect(tunnel.toTarget.map(\.payload) == [[1], [2], [4]])
        #expect(session.pathAddresses[0] == 1_000)
        #expect(session.lastReceive == tunnel.now)
        for probe in 1...2 {
            tunnel.now = tunnel.now + .seconds(1)
            tunnel.sendDueProbes()  // one probe per path, both lost on the way
            tunnel.deliverUpstream(tunnel.capturedUpstream[tunnel.capturedUpstream.count - 2], from: 6_666)
            // The second fresh probe from the new address, with none from the old, moves it (R18b).
            #expect(session.pathAddresses[0] == (probe == 1 ? 1_000 : 6_666))
        }
    }
}
