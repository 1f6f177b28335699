import Glibc
import MPCore
import MPRuntime
import MPTestSupport
import Testing

/// A keyed tunnel attacked from 127.0.0.1 by someone who can see and send on a path: frames
/// captured by a tap and replayed, forged, flipped or sealed with another key.
@Suite("Attacks on a keyed tunnel", .serialized)
struct AttackTests {
    /// Sends traffic through the tunnel until the tap holds `count` upstream frames; returns
    /// them, oldest first.
    func capture(_ fixture: AttackFixture, upstream count: Int) -> [[UInt8]] {
        fixture.tap.clearRecording()
        fixture.tap.setRecording(true)
        fixture.pushTraffic(count: count, prefix: "capture-")
        waitUntil(timeout: .seconds(10), poll: .milliseconds(1)) {
            guard fixture.tap.recorded(.up).count < count else { return true }
            fixture.pushTraffic(count: 500, prefix: "capture-")
            return false
        }
        fixture.tap.setRecording(false)
        return Array(fixture.tap.recorded(.up).prefix(count))
    }

    @Test("10,000 captured frames replayed at once from two ports, and after 100,000 later frames: nothing delivered")
    func replay() throws {
        let fixture = try AttackFixture(products: releaseProductsDirectory())
        let serverAddress = SocketAddress.loopbackIPv4(port: fixture.serverPort)
        #expect(fixture.secondsUntilTraffic() != nil, "\(fixture.lab.logs)")
        let frames = capture(fixture, upstream: 10_000)
        let downstream = fixture.tap.recorded(.down)
        try #require(frames.count == 10_000, "\(fixture.lab.logs)")
        let stranger = try strangerSocket()
        let before = try #require(fixture.settledEchoCounts())
        let serverBefore = try #require(statistics(of: fixture.server, line: "server statistics"))
        let probes =
            fixture.paced(frames) { stranger.send($0, to: serverAddress) }
            + fixture.paced(frames) { fixture.tap.sendToServer($0) }
            + fixture.paced(downstream) { fixture.tap.sendToClient($0) }
        let after = try #require(fixture.settledEchoCounts())
        let serverAfter = try #require(statistics(of: fixture.server, line: "server statistics"))
        let judged = serverAfter["dropped", default: 0] - serverBefore["dropped", default: 0]
        let answers = stranger.drainCount(timeout: .milliseconds(200))
        print(
            "replay at once: \(frames.count) upstream frames x2 (stranger's port, tap's port) and \(downstream.count) "
                + "downstream frames to mpclient; delivered \(after.others - before.others), "
                + "stray replies to the application \(fixture.strayReplies), dropped by mpserver \(judged), "
                + "answers to the stranger \(answers), probes through \(probes)")
        #expect(after.others == before.others)
        #expect(fixture.strayReplies == 0)
        #expect(judged >= 2 * frames.count * 99 / 100, "mpserver judged only \(judged) of the replays")

        // The same frames after 100,000 later ones: too old for the window.
        let later = fixture.pushTraffic(count: 100_000, prefix: "later-")
        let beforeLate = try #require(fixture.settledEchoCounts())
        fixture.paced(frames) { stranger.send($0, to: serverAddress) }
        let afterLate = try #require(fixture.settledEchoCounts())
        print(
            "replay after 100,000 later frames (\(later) came back): "
                + "delivered \(afterLate.others - beforeLate.others), stray replies \(fixture.strayReplies)")
        #expect(afterLate.others == beforeLate.others)
        #expect(fixture.strayReplies == 0)
        // 100,000 later frames were sent; half of them coming back proves the window moved far
        // past the replayed numbers (it holds 16,320). Not all: on a machine short of CPU a
        // debug build's loopback buffers overflow now and then (98,630 came back in one run at
        // load 13; 94,170 in one with the host taking 46% of the CPU), and echoes delayed past
        // the count by a host pause arrive later (they are accounted for then, not as stray).
        // Neither is what this test is about.
        #expect(later >= 50_000)
    }

    @Test("10,000 captured frames replayed after mpserver restarted, and after mpclient restarted: nothing delivered")
    func replayAfterRestarts() throws {
        let fixture = try AttackFixture(products: releaseProductsDirectory())
        let serverAddress = SocketAddress.loopbackIPv4(port: fixture.serverPort)
        #expect(fixture.secondsUntilTraffic() != nil, "\(fixture.lab.logs)")
        let frames = capture(fixture, upstream: 10_000)
        try #require(frames.count == 10_000, "\(fixture.lab.logs)")
        let stranger = try strangerSocket()

        // mpserver restarts; the replay races the real mpclient to the new incarnation.
        let before = try #require(fixture.settledEchoCounts())
        fixture.server?.kill9()
        try fixture.restartServer()
        waitUntil(timeout: .seconds(5)) { fixture.server?.log.contains("mpserver listening") == true }
        for (index, frame) in frames.enumerated() {
            stranger.send(frame, to: serverAddress)
            // 500 per 5 ms: about what mpserver judges, so its socket buffer does not overflow.
            if index % 500 == 499 { sleep(for: .milliseconds(5)) }
        }
        let healed = fixture.secondsUntilTraffic()
        fixture.paced(frames) { fixture.tap.sendToServer($0) }
        fixture.paced(frames) { stranger.send($0, to: serverAddress) }
        let after = try #require(fixture.settledEchoCounts())
        let acceptances = stranger.drainCount(timeout: .milliseconds(200))
        print(
            "replay after mpserver restart: \(frames.count) frames x3; delivered \(after.others - before.others), "
                + "stray replies \(fixture.strayReplies), tunnel healed after \(healed.map { "\($0)" } ?? "never") s, "
                + "acceptances answered to the replayer \(acceptances)")
        #expect(after.others == before.others)
        #expect(healed != nil, "\(fixture.lab.logs)")

        // mpclient restarts: a new session id, so new keys; the old session's frames are
        // not its frames.
        fixture.client?.kill9()
        try fixture.restartClient()
        let clientHealed = fixture.secondsUntilTraffic()
        let beforeClient = try #require(fixture.settledEchoCounts())
        fixture.paced(frames) { fixture.tap.sendToServer($0) }
        fixture.paced(frames) { stranger.send($0, to: serverAddress) }
        let afterClient = try #require(fixture.settledEchoCounts())
        print(
            "replay after mpclient restart: \(frames.count) frames x2; delivered "
                + "\(afterClient.others - beforeClient.others), stray replies \(fixture.strayReplies), "
                + "tunnel healed after \(clientHealed.map { "\($0)" } ?? "never") s")
        #expect(afterClient.others == beforeClient.others)
        #expect(clientHealed != nil, "\(fixture.lab.logs)")
        #expect(fixture.strayReplies == 0)
    }

    @Test("300,000 random, bit-flipped and other-key datagrams in traffic: none delivered or answered, bounded memory")
    func flood() throws {
        let fixture = try AttackFixture(products: releaseProductsDirectory())
        let serverAddress = SocketAddress.loopbackIPv4(port: fixture.serverPort)
        #expect(fixture.secondsUntilTraffic() != nil, "\(fixture.lab.logs)")
        let upstream = capture(fixture, upstream: 2_000)
        let downstream = fixture.tap.recorded(.down)
        try #require(upstream.count == 2_000 && downstream.count >= 1_000, "\(fixture.lab.logs)")
        let session = sessionID(of: upstream[0])
        let otherKey = try PreSharedKey.generate()
        var atServer = HostileDatagrams(
            direction: .upstream, captured: upstream, sessionID: session, otherKey: otherKey)
        var atClient = HostileDatagrams(
            direction: .downstream, captured: downstream, sessionID: session, otherKey: otherKey)
        let attacker = try strangerSocket()
        let pids = [fixture.server!.pid, fixture.client!.pid]
        let residentBefore = pids.map { ProcessStats.residentKilobytes(pid: $0) ?? 0 }
        let before = try #require(fixture.settledEchoCounts())
        let serverBefore = try #require(statistics(of: fixture.server, line: "server statistics"))
        let clientBefore = try #require(statistics(of: fixture.client, line: "session statistics"))
        let start = ContinuousClock.now
        var rounds = 0
        var through = 0
        // 300 rounds of 800 datagrams at mpserver and 200 at mpclient, then a probe through.
        for _ in 0..<300 {
            for _ in 0..<800 { attacker.send(atServer.next(), to: serverAddress) }
            for _ in 0..<200 { fixture.tap.sendToClient(atClient.next()) }
            rounds += 1
            if fixture.probe() { through += 1 }
        }
        let floodSeconds = start.duration(to: .now).inSeconds
        let after = try #require(fixture.settledEchoCounts())
        let serverAfter = try #require(statistics(of: fixture.server, line: "server statistics"))
        let clientAfter = try #require(statistics(of: fixture.client, line: "session statistics"))
        let answers = attacker.drainCount(timeout: .milliseconds(300))
        let residentAfter = pids.map { ProcessStats.residentKilobytes(pid: $0) ?? 0 }
        // 0 means /proc was unreadable: the memory bound below would then prove nothing.
        #expect(!residentBefore.contains(0) && !residentAfter.contains(0), "resident memory unreadable")
        let sent = atServer.made.merging(atClient.made, uniquingKeysWith: +)
        let kinds = sent.map { "\($0.key.rawValue) \($0.value)" }.sorted().joined(separator: ", ")
        print(
            "flood: \(sent.values.reduce(0, +)) datagrams in \(floodSeconds) s (\(kinds)), "
                + "mpserver \(atServer.made.values.reduce(0, +)), mpclient \(atClient.made.values.reduce(0, +)); "
                + "delivered to the target \(after.others - before.others), "
                + "to the application \(fixture.strayReplies); "
                + "answers to the attacker \(answers); probes through during the flood \(through)/\(rounds); "
                + "mpserver sessions \(serverBefore["sessions", default: -1]) -> "
                + "\(serverAfter["sessions", default: -1]), dropped by mpserver "
                + "\(serverAfter["dropped", default: 0] - serverBefore["dropped", default: 0]), by mpclient "
                + "\(clientAfter["dropped", default: 0] - clientBefore["dropped", default: 0]); "
                + "resident KB (mpserver, mpclient) before \(residentBefore), after \(residentAfter)")
        #expect(fixture.server?.isRunning == true && fixture.client?.isRunning == true)
        #expect(after.others == before.others)
        #expect(fixture.strayReplies == 0)
        #expect(answers == 0, "mpserver answered \(answers) unauthenticated datagrams")
        #expect(serverBefore["sessions"] == 1 && serverAfter["sessions"] == 1)
        #expect(through >= rounds * 95 / 100, "only \(through) of \(rounds) probes came back during the flood")
        #expect(fixture.probe(timeout: .seconds(2)))
        for (old, new) in zip(residentBefore, residentAfter) { #expect(new - old < 5 * 1_024) }
    }
}
