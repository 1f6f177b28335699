import Testing
@testable import MPCore

@Suite("Scheduling: duplicate, balance, backup, failover")
struct SchedulingTests {
    @Test("a cut path goes down within 3 s, carries only probes, and comes back within 2 s")
    func failover() {
        let tunnel = TunnelHarness(paths: 3)
        tunnel.establish()
        tunnel.advance(.seconds(2))
        #expect(tunnel.client.pathsFor(now: tunnel.now) == .first(3))
        tunnel.lossRates[1] = 1
        let cut = tunnel.now
        var wentDownAt: Timestamp?
        while wentDownAt == nil, tunnel.now - cut < .seconds(5) {
            tunnel.send([1])
            tunnel.now = tunnel.now + .milliseconds(250)
            if tunnel.tick().wentDown == PathSet(path: 1) { wentDownAt = tunnel.now }
        }
        let downAfter = (wentDownAt ?? tunnel.now) - cut
        #expect(downAfter <= .seconds(3), "down after \(downAfter.seconds) s")
        #expect(tunnel.client.pathsFor(now: tunnel.now) == [PathSet(path: 0), PathSet(path: 2)])
        let before = tunnel.upstreamDataFrames[1]
        tunnel.send([2])
        #expect(tunnel.upstreamDataFrames[1] == before, "a down path carries no payload")
        tunnel.lossRates[1] = 0
        let back = tunnel.now
        var cameUpAt: Timestamp?
        while cameUpAt == nil, tunnel.now - back < .seconds(5) {
            tunnel.now = tunnel.now + .milliseconds(250)
            if tunnel.tick().cameUp == PathSet(path: 1) { cameUpAt = tunnel.now }
        }
        let upAfter = (cameUpAt ?? tunnel.now) - back
        #expect(upAfter <= .seconds(2), "up after \(upAfter.seconds) s")
        #expect(tunnel.client.pathsFor(now: tunnel.now) == .first(3))
    }

    @Test("a backup path carries no data while a primary is up, takes over, and goes quiet again")
    func backup() {
        let tunnel = TunnelHarness(paths: 3, backupPaths: PathSet(path: 2))
        tunnel.establish()
        // The first two epochs of a session answer on every path heard (R21); then the mirror
        // knows the data paths from the data and the receiver reports.
        tunnel.advance(.seconds(2))
        for _ in 0..<10 { tunnel.send([1]) }
        tunnel.reply([9], flow: tunnel.toTarget[0].flow)
        let downstreamBefore = tunnel.downstreamFrames[2]
        for _ in 0..<10 { tunnel.reply([9], flow: tunnel.toTarget[0].flow) }
        #expect(tunnel.upstreamDataFrames == [10, 10, 0])
        #expect(tunnel.downstreamFrames[2] == downstreamBefore, "mpserver mirrors: no reply on the backup")
        tunnel.lossRates[0] = 1
        tunnel.lossRates[1] = 1
        tunnel.advance(.seconds(3))
        #expect(tunnel.client.pathsFor(now: tunnel.now) == PathSet(path: 2))
        tunnel.send([2])
        #expect(tunnel.toTarget.last?.payload == [2])
        tunnel.advance(.seconds(1))
        let delivered = tunnel.toApplication.count
        tunnel.reply([8], flow: tunnel.toTarget[0].flow)
        #expect(tunnel.toApplication.count == delivered + 1, "replies follow the backup")
        tunnel.lossRates[0] = 0
        tunnel.advance(.seconds(3))
        #expect(tunnel.client.pathsFor(now: tunnel.now) == PathSet(path: 0))
    }

    @Test(
        "a backup takes over within 2 s of the last primary going silent, before the primary is down",
        arguments: [0, 100, 400, 900])
    func backupTakeoverTime(offsetMilliseconds: UInt64) {
        let tunnel = TunnelHarness(paths: 2, backupPaths: PathSet(path: 1))
        tunnel.establish()
        tunnel.advance(.seconds(2), step: .milliseconds(10))
        tunnel.advance(.milliseconds(offsetMilliseconds), step: .milliseconds(10))
        // Traffic every 10 ms: the primary is heard up to the moment it dies.
        tunnel.lossRates[0] = 1
        let cut = tunnel.now
        var takenOverAt: Timestamp?
        while takenOverAt == nil, tunnel.now - cut < .seconds(3) {
            tunnel.send([1])
            tunnel.advance(.milliseconds(10), step: .milliseconds(10))
            if tunnel.client.pathsFor(now: tunnel.now).contains(path: 1) { takenOverAt = tunnel.now }
        }
        let after = (takenOverAt ?? tunnel.now) - cut
        #expect(after < .seconds(2), "backup took over after \(after.seconds) s")
        #expect(tunnel.client.health[0].state == .up, "the primary is only quiet, not down yet")
    }

    /// A tunnel over a primary (path 0) and a backup (path 1), and a step of an echoed
    /// stream as the end-to-end test runs it: a payload and its reply, then 10 ms.
    static func echoedStreamOverPrimaryAndBackup() -> (TunnelHarness, () -> Void) {
        let tunnel = TunnelHarness(paths: 2, backupPaths: PathSet(path: 1))
        tunnel.establish()
        tunnel.send([0])
        let flow = tunnel.toTarget[0].flow
        return (
            tunnel,
            {
                tunnel.send([1])
                tunnel.reply([2], flow: flow)
                tunnel.advance(.milliseconds(10), step: .milliseconds(10))
            }
        )
    }

    /// One primary in duplicate mode looks like balance to mpserver (one copy per payload),
    /// so each reply goes on one data path: the dead primary must leave the data paths as
    /// soon as the backup carries what it carried, not an epoch or two later.
    @Test(
        "replies come back over the backup as soon as it carries the data, wherever the epoch stands",
        arguments: [0, 100, 300, 500, 700, 900])
    func backupRepliesTakeOver(offsetMilliseconds: UInt64) {
        let (tunnel, step) = Self.echoedStreamOverPrimaryAndBackup()
        for _ in 0..<(300 + Int(offsetMilliseconds / 10)) { step() }
        tunnel.lossRates[0] = 1
        let cut = tunnel.now
        let delivered = tunnel.toApplication.count
        while tunnel.toApplication.count == delivered, tunnel.now - cut < .seconds(4) { step() }
        let after = tunnel.now - cut
        // The backup carries data 1.5 s after the primary's last frame (its quiet limit);
        // a reply comes back in the same 10 ms step.
        #expect(
            tunnel.toApplication.count > delivered && after <= .milliseconds(1_510),
            "replies back after \(after.seconds) s")
    }

    /// A primary that delivers upstream but whose replies are lost (a relay restarted on a
    /// new source port before mpserver moved the path, or a one-way outage) is quiet: the
    /// reports that say it delivers do not send the backup away while no reply comes.
    @Test("a primary whose replies are lost stays quiet: the backup carries the replies throughout")
    func backupCarriesRepliesOfOneWayPrimary() {
        let (tunnel, step) = Self.echoedStreamOverPrimaryAndBackup()
        for _ in 0..<300 { step() }
        tunnel.downstreamBlackholes.insert(0)
        for _ in 0..<200 { step() }
        let delivered = tunnel.toApplication.count
        for _ in 0..<800 { step() }
        let replies = tunnel.toApplication.count - delivered
        #expect(replies >= 790, "\(replies) of 800 replies in the 8 s after the backup took over")
    }

    /// A relay restarted on a new source port carries upstream at once, but mpserver moves
    /// the path's reply address only after two probes from it (R18b): until then the path
    /// is no data path, or a reply given to it alone (balance) would go to the old address.
    @Test("data from an address the path has not moved to counts in the verdict, not in the data paths")
    func mirrorIgnoresUnmovedAddress() {
        var mirror = ReplyMirror()
        var now = ms(1_000)
        for _ in 0..<300 {
            mirror.recordData(path: 1, fresh: true, now: now)
            now = now + .milliseconds(10)
        }
        #expect(mirror.dataPaths(heard: .first(2), now: now) == PathSet(path: 1))
        #expect(mirror.isBalanced, "one copy per payload")
        for _ in 0..<200 {
            mirror.recordData(path: 1, fresh: true, now: now)
            mirror.recordData(path: 0, fresh: false, now: now, fromPathAddress: false)
            mirror.recordReport(path: 0, now: now, fromPathAddress: false)
            now = now + .milliseconds(10)
        }
        #expect(mirror.dataPaths(heard: .first(2), now: now) == PathSet(path: 1))
        #expect(!mirror.isBalanced, "two copies per payload: duplicate, every reply on path 1")
        mirror.recordData(path: 0, fresh: false, now: now)
        #expect(mirror.dataPaths(heard: .first(2), now: now) == .first(2), "moved: path 0 carries replies again")
    }

    /// A path that stopped carrying anything leaves the data paths after
    /// ``Defaults/mirrorStaleAfter``, not one or two epochs later; a quiet upstream keeps them all.
    @Test("a data path silent for mirrorStaleAfter while another carries data leaves the data paths")
    func mirrorDropsStalePath() {
        var mirror = ReplyMirror()
        var now = ms(1_000)
        for _ in 0..<300 {
            for path in 0..<2 { mirror.recordData(path: path, fresh: path == 0, now: now) }
            now = now + .milliseconds(10)
        }
        #expect(mirror.dataPaths(heard: .first(2), now: now) == .first(2))
        let cut = now
        mirror.recordData(path: 0, fresh: true, now: cut)  // path 0's last frame
        while now - cut < Defaults.mirrorStaleAfter {
            #expect(mirror.dataPaths(heard: .first(2), now: now) == .first(2))
            mirror.recordData(path: 1, fresh: true, now: now)
            now = now + .milliseconds(10)
        }
        #expect(mirror.dataPaths(heard: .first(2), now: now) == PathSet(path: 1))
        var idle = ReplyMirror()
        for path in 0..<2 { idle.recordData(path: path, fresh: path == 0, now: ms(1_000)) }
        #expect(idle.dataPaths(heard: .first(2), now: ms(3_500)) == .first(2), "nothing fresh: every data path stays")
    }

    @Test("one lost echo on an idle primary brings the backup in for half a probe interval at most")
    func quietPrimaryHedgesBriefly() {
        let tunnel = TunnelHarness(paths: 2, backupPaths: PathSet(path: 1))
        tunnel.establish()
        tunnel.advance(.seconds(3), step: .milliseconds(50))
        #expect(tunnel.client.pathsFor(now: tunnel.now) == PathSet(path: 0))
        var hedged = 0
        for _ in 0..<200 {
            tunnel.advance(.milliseconds(50), step: .milliseconds(50))
            if tunnel.client.pathsFor(now: tunnel.now).contains(path: 1) { hedged += 1 }
        }
        #expect(hedged == 0, "a primary that answers every probe never brings in the backup")
    }

    @Test("when every path is down, payloads go out on all of them and the change is reported once")
    func allDown() {
        let tunnel = TunnelHarness(paths: 2, backupPaths: PathSet(path: 1))
        tunnel.establish()
        tunnel.lossRates = [1, 1]
        var changes: [PathHealthChanges] = []
        for _ in 0..<16 {
            tunnel.now = tunnel.now + .milliseconds(250)
            let change = tunnel.tick()
            if !change.isEmpty { changes.append(change) }
        }
        #expect(changes.filter(\.allDown).count == 1)
        #expect(tunnel.client.pathsFor(now: tunnel.now) == .first(2))
        tunnel.lossRates = [0, 0]
        tunnel.advance(.seconds(3))
        #expect(tunnel.client.upPaths == .first(2))
    }

    @Test("balance mode sends each payload once, spread over equal paths")
    func balanceEqual() {
        let tunnel = TunnelHarness(paths: 2, mode: .balance)
        tunnel.establish()
        let duplicates = tunnel.server.drops[.duplicate]  // receiver reports go on every path
        for index in 0..<1_000 { tunnel.send([UInt8(index & 0xFF)]) }
        // Over both, give or take the first frames of startup: while the paths' capacities
        // are unknown each drains faster than its estimate, so the one whose first frames arrived
        // a little sooner takes more of a burst sent at one instant.
        let frames = tunnel.upstreamDataFrames
        #expect(frames.count == 2 && frames.reduce(0, +) == 1_000 && frames.min()! >= 400, "\(frames)")
        #expect(tunnel.toTarget.count == 1_000)
        #expect(tunnel.server.drops[.duplicate] == duplicates)
    }

    @Test("balance mode sends a payload where it arrives first: the 10 ms path until its queue passes 40 ms")
    func balanceEarliestArrival() {
        let client = ClientSession<Int>(sessionID: 7, pathCount: 2, mode: .balance)
        for (path, rtt) in [(0, UInt64(10)), (1, 90)] {
            client.health[path].recordProbe(now: ms(1_000))
            client.health[path].recordEcho(sentAt: ms(1_000), now: ms(1_000 + rtt))
            client.health[path].recordHeard(now: ms(1_000 + rtt))
        }
        // Before any report: 2 Mbit/s each, and one-way delays half the round trips (5 and
        // 45 ms). While the capacity is unknown and no queue measured, the leading path
        // drains at 1 Gbit/s (more than 64 times 2 Mbit/s): a 1,232-byte frame and its
        // headers take 10.08 µs, so the 5 ms path takes 3,969 before its queue outgrows the
        // other path's extra 40 ms.
        var picks: [Int] = []
        for _ in 0..<3_971 { picks += client.pathsFor(now: ms(1_100), bytes: 1_232).members }
        #expect(picks == Array(repeating: 0, count: 3_969) + [1, 0])
        #expect(client.loads?.loads.map(\.payloads) == [3_970, 1])
    }

    @Test("mpserver mirrors balance mode: each reply on one path, spread like the upstream data")
    func mirrorBalance() {
        let tunnel = TunnelHarness(paths: 2, mode: .balance)
        tunnel.establish()
        for index in 0..<100 { tunnel.send([UInt8(index)]) }
        tunnel.now = tunnel.now + .milliseconds(1_100)
        for index in 0..<100 { tunnel.send([UInt8(index)]) }
        let before = tunnel.downstreamFrames
        let duplicates = tunnel.client.drops[.duplicate]  // receiver reports go on every path
        for _ in 0..<100 { tunnel.reply([9], flow: tunnel.toTarget[0].flow) }
        #expect(tunnel.downstreamFrames[0] - before[0] == 50)
        #expect(tunnel.downstreamFrames[1] - before[1] == 50)
        #expect(tunnel.client.drops[.duplicate] == duplicates)
        #expect(tunnel.toApplication.count == 100)
    }

    @Test("mpserver mirrors duplicate mode: every reply on every data path")
    func mirrorDuplicate() {
        let tunnel = TunnelHarness(paths: 3)
        tunnel.establish()
        for index in 0..<20 { tunnel.send([UInt8(index)]) }
        tunnel.now = tunnel.now + .milliseconds(1_100)
        tunnel.send([0])
        #expect(tunnel.server.sessions[tunnel.client.sessionID]?.mirror.isBalanced == false)
        let before = tunnel.downstreamFrames
        for _ in 0..<10 { tunnel.reply([9], flow: tunnel.toTarget[0].flow) }
        #expect(zip(tunnel.downstreamFrames, before).map { $0 - $1 } == [10, 10, 10])
    }

    @Test("balance mode loses no session when a path dies: traffic moves to the other")
    func balanceFailover() {
        let tunnel = TunnelHarness(paths: 2, mode: .balance)
        tunnel.establish()
        tunnel.lossRates[0] = 1
        for second in 0..<6 {
            for index in 0..<10 { tunnel.send([UInt8(second), UInt8(index)]) }
            tunnel.advance(.seconds(1))
        }
        let before = tunnel.toTarget.count
        for index in 0..<10 { tunnel.send([9, UInt8(index)]) }
        #expect(tunnel.toTarget.count == before + 10)
    }
}
