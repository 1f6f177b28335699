import Testing
@testable import MPCore

@Suite("Round-trip estimator (RFC 6298)")
struct RoundTripEstimatorTests {
    @Test("the first sample sets SRTT and half of it as RTTVAR; later ones smooth by 1/8 and 1/4")
    func smoothing() {
        var estimator = RoundTripEstimator()
        #expect(estimator.smoothed == nil && estimator.timeout == nil)
        estimator.add(.milliseconds(100))
        #expect(estimator.smoothed == .milliseconds(100))
        #expect(estimator.variation == .milliseconds(50))
        #expect(estimator.timeout == .milliseconds(300))
        estimator.add(.milliseconds(200))
        // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5 ms; SRTT = 7/8·100 + 1/8·200 = 112.5 ms.
        #expect(estimator.variation == TimeSpan(nanoseconds: 62_500_000))
        #expect(estimator.smoothed == TimeSpan(nanoseconds: 112_500_000))
        #expect(estimator.latest == .milliseconds(200))
    }
}

@Suite("Path health: probes, loss and hysteresis")
struct PathHealthTests {
    /// Probes once a second from `start`, answering those `answered` says, hearing some
    /// other frame every 500 ms so only the lost-probe rule can act.
    static func run(
        _ health: inout PathHealth, seconds: Int, from start: UInt64, rtt: UInt64 = 20,
        answered: (Int) -> Bool
    ) {
        for second in 0..<seconds {
            let sent = ms(start + UInt64(second) * 1_000)
            health.recordProbe(now: sent)
            // A path that answers also carries the session's other frames; a dead one, nothing.
            if answered(second) {
                health.recordEcho(sentAt: sent, now: ms(start + UInt64(second) * 1_000 + rtt))
                health.recordHeard(now: ms(start + UInt64(second) * 1_000 + 500))
            }
            health.refresh(now: ms(start + UInt64(second) * 1_000 + 999))
        }
    }

    @Test("a path gone silent goes down within 3 s; two echoes in a row bring it up")
    func hysteresis() {
        var health = PathHealth()
        Self.run(&health, seconds: 5, from: 1_000) { _ in true }
        #expect(health.state == .up)
        #expect(health.roundTrip.smoothed == .milliseconds(20))
        // The path dies after 5.5 s: probes at 6 and 7 s go unanswered, nothing else arrives.
        Self.run(&health, seconds: 2, from: 6_000) { _ in false }
        #expect(health.state == .up, "a lost probe and 2.5 s of silence are not an outage yet")
        Self.run(&health, seconds: 1, from: 8_000) { _ in false }
        #expect(health.state == .down)
        #expect(health.lastChange == ms(8_999))
        Self.run(&health, seconds: 1, from: 9_000) { _ in true }
        #expect(health.state == .down, "one echo is not a recovery")
        Self.run(&health, seconds: 1, from: 10_000) { _ in true }
        #expect(health.state == .up)
        #expect(health.lastChange == ms(10_020))
    }

    /// A session's path comes back: its first echo after the outage makes the next probe due
    /// within a tick, so the second echo that brings it up follows a round trip later, not
    /// a probe interval (mpserver's R18b answers a bridge's new address only from its second
    /// probe, so waiting an interval for each made a restarted bridge take up to 3 s).
    @Test("a down path that echoes is probed again within a tick: up a tick after its first echo")
    func downPathConfirmedQuickly() {
        let tunnel = TunnelHarness(paths: 2)
        tunnel.establish()
        tunnel.advance(.seconds(2), step: .milliseconds(100))
        tunnel.lossRates = [0, 1]
        tunnel.advance(.seconds(4), step: .milliseconds(100))
        #expect(tunnel.client.health[1].state == .down)
        tunnel.lossRates = [0, 0]
        let back = tunnel.now
        while tunnel.client.health[1].consecutiveEchoes == 0, tunnel.now - back < .seconds(2) {
            tunnel.advance(.milliseconds(100), step: .milliseconds(100))
        }
        #expect(tunnel.client.health[1].state == .down, "one echo is not a recovery")
        let firstEcho = tunnel.now
        tunnel.advance(.milliseconds(100), step: .milliseconds(100))
        #expect(
            tunnel.client.health[1].state == .up,
            "up \((tunnel.now - firstEcho).nanoseconds / 1_000_000) ms after the first echo")
    }

    @Test("a lossy path that keeps delivering frames stays up, however many probes it loses")
    func lossyButAlive() {
        var health = PathHealth()
        for second in UInt64(1)...10 {
            health.recordProbe(now: ms(second * 1_000))
            for tenth in UInt64(1)...9 { health.recordHeard(now: ms(second * 1_000 + tenth * 100)) }
            health.refresh(now: ms(second * 1_000 + 999))
        }
        #expect(health.consecutiveLosses >= 8)
        #expect(health.state == .up)
    }

    @Test("a lost probe between echoes resets the recovery")
    func flapping() {
        var health = PathHealth()
        Self.run(&health, seconds: 4, from: 1_000) { _ in false }
        health.refresh(now: ms(5_000))
        #expect(health.state == .down)
        Self.run(&health, seconds: 6, from: 5_000) { $0 % 2 == 0 }
        #expect(health.state == .down)
    }

    @Test("2.5 probe intervals without any authentic frame take a path down")
    func silence() {
        var health = PathHealth()
        health.recordProbe(now: ms(1_000))
        health.recordEcho(sentAt: ms(1_000), now: ms(1_010))
        health.refresh(now: ms(3_509))
        #expect(health.state == .up)
        health.refresh(now: ms(3_510))
        #expect(health.state == .down)
    }

    @Test("loss is measured over the last 16 decided probes")
    func lossWindow() {
        var health = PathHealth()
        #expect(health.loss == nil)
        Self.run(&health, seconds: 20, from: 1_000) { $0 % 4 == 0 }
        health.refresh(now: ms(30_000))
        #expect(health.loss == 0.75)
        #expect(health.probesSent == 20)
        #expect(health.probesEchoed == 5)
    }

    @Test("an echo of an unknown or already decided probe changes nothing")
    func strayEchoes() {
        var health = PathHealth()
        health.recordProbe(now: ms(1_000))
        let unknown = health.recordEcho(sentAt: ms(999), now: ms(1_010))
        let future = health.recordEcho(sentAt: ms(2_000), now: ms(1_010))
        let genuine = health.recordEcho(sentAt: ms(1_000), now: ms(1_010))
        let replayed = health.recordEcho(sentAt: ms(1_000), now: ms(1_020))
        #expect(!unknown && !future && genuine && !replayed)
        #expect(health.probesEchoed == 1)
    }

    @Test("the probe timeout follows a long round trip (SRTT + 4 RTTVAR), never below 1 s")
    func adaptiveTimeout() {
        var health = PathHealth()
        #expect(health.probeTimeout == .seconds(1))
        health.recordProbe(now: ms(1_000))
        health.recordEcho(sentAt: ms(1_000), now: ms(1_600))
        #expect(health.probeTimeout == .milliseconds(1_800))
    }

    @Test("the base round trip is the lowest of the window's echoes, and leaves with them")
    func baseRoundTrip() {
        var health = PathHealth(probeInterval: .seconds(1))
        #expect(health.baseRoundTrip == nil)
        // One 2 ms echo, then 15 echoes of 80 ms (a queue filling up): the base stays 2 ms.
        for index in UInt64(0)..<16 {
            let sent = ms(1_000 + index * 1_000)
            health.recordProbe(now: sent)
            health.recordEcho(sentAt: sent, now: sent + .milliseconds(index == 0 ? 2 : 80))
        }
        #expect(health.baseRoundTrip == .milliseconds(2))
        #expect((health.roundTrip.smoothed ?? .milliseconds(0)) > .milliseconds(50))
        // The 2 ms probe leaves the 16-probe window: the base follows the path.
        health.recordProbe(now: ms(17_000))
        health.recordEcho(sentAt: ms(17_000), now: ms(17_040))
        #expect(health.baseRoundTrip == .milliseconds(40))
    }

    @Test("a probe answered by an acceptance is neither lost nor a round-trip sample")
    func acceptanceAnswersProbe() {
        var health = PathHealth(probeInterval: .seconds(1))
        health.recordProbe(now: ms(1_000))
        health.recordAcceptance(now: ms(1_002))
        health.refresh(now: ms(3_000))
        #expect(health.loss == nil && health.roundTrip.smoothed == nil)
        #expect(health.lastHeard == ms(1_002) && health.state == .up)
        for second in UInt64(2)...5 {
            health.recordProbe(now: ms(second * 1_000))
            health.recordEcho(sentAt: ms(second * 1_000), now: ms(second * 1_000 + 1))
        }
        #expect(health.loss == 0)
    }
}

@Suite("Path sets")
struct PathSetTests {
    @Test("members, first(n), lowest, out-of-range ids")
    func basics() {
        #expect(Array(PathSet.first(3).members) == [0, 1, 2])
        #expect(PathSet.first(32).count == 32)
        #expect(PathSet(path: 32).isEmpty && PathSet(path: -1).isEmpty)
        var set: PathSet = []
        set.insert(path: 5)
        set.insert(path: 31)
        #expect(Array(set.members) == [5, 31])
        #expect(set.contains(path: 31) && !set.contains(path: 4))
        #expect(set.lowest == 5 && PathSet(path: 31).lowest == 31 && PathSet().lowest == nil)
    }
}
