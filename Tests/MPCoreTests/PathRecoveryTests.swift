import Testing

@testable import MPCore

@Suite("Path recovery: when a silent path gets a new socket")
struct PathRecoveryTests {
    /// A path probed each second from `start` that answers until `silentAfter`, refreshed
    /// every 250 ms up to `end`; returns the health and the times recovery said it was due.
    static func run(silentAfter: UInt64, answersAgainAt: UInt64 = .max, end: UInt64) -> [UInt64] {
        var health = [PathHealth(probeInterval: .seconds(1))]
        var recovery = PathRecovery(pathCount: 1, probeInterval: .seconds(1))
        var dueTimes: [UInt64] = []
        var now: UInt64 = 1_000
        while now <= end {
            let time = ms(now)
            if now % 1_000 == 0 {
                health[0].recordProbe(now: time)
                if now < silentAfter || now >= answersAgainAt { health[0].recordEcho(sentAt: time, now: time) }
            }
            health[0].refresh(now: time)
            if recovery.due(health: health, now: time) == PathSet(path: 0) { dueTimes.append(now) }
            now += 250
        }
        return dueTimes
    }

    @Test("a path that answers is never reopened")
    func answering() {
        #expect(Self.run(silentAfter: .max, end: 60_000).isEmpty)
    }

    @Test("a silent path is reopened ten probe intervals after it was last heard, then every ten")
    func silent() {
        // Last echo at 5 s: down at 7.5 s, reopened at 15 s, 25 s, 35 s.
        #expect(Self.run(silentAfter: 5_500, end: 36_000) == [15_000, 25_000, 35_000])
    }

    @Test("a path that answers again after a reopening is left alone")
    func recovers() {
        #expect(Self.run(silentAfter: 5_500, answersAgainAt: 16_000, end: 60_000) == [15_000])
    }

    @Test("the interval follows the probe interval")
    func interval() {
        #expect(PathRecovery(pathCount: 2, probeInterval: .milliseconds(200)).interval == .seconds(2))
    }
}
