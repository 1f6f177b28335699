import Testing
import MPLabSupport

@testable import MPCore

/// Paths with a one-way delay, a little jitter and loss, each keeping its own order; a
/// sender that puts every payload on every path (duplicate mode) and, every 100th sequence
/// number, a probe on one path only. Seeded; time in nanoseconds.
struct LinkModel {
    struct Arrival {
        var at: UInt64
        var path: Int
        var sequence: UInt64
        var isPayload: Bool
    }

    var delays: [UInt64]  // ms
    var loss: Double
    var random: SplitMix64

    /// Arrivals, in time order, of `count` sequence numbers sent `interval` ns apart.
    /// With `spread`, each payload goes on one path in turn (balance mode's shape).
    mutating func arrivals(count: Int, interval: UInt64, spread: Bool = false) -> [Arrival] {
        var lastOnPath = Array(repeating: UInt64(0), count: delays.count)
        var out: [Arrival] = []
        for index in 0..<count {
            let sequence = UInt64(index + 1)
            let sent = UInt64(index) * interval
            let isProbe = sequence % 100 == 0
            let paths =
                isProbe
                ? [Int(sequence / 100) % delays.count]
                : spread ? [index % delays.count] : Array(delays.indices)
            for path in paths {
                guard Double(random.next() % 1_000_000) / 1_000_000 >= loss else { continue }
                let jitter = random.next() % 300_000
                let at = max(lastOnPath[path] + 1, sent + delays[path] * 1_000_000 + jitter)
                lastOnPath[path] = at
                out.append(Arrival(at: at, path: path, sequence: sequence, isPayload: !isProbe))
            }
        }
        return out.sorted { $0.at < $1.at }
    }
}

/// What a receiver with a reorder buffer did with a run of arrivals.
struct ReorderOutcome {
    var delivered: [UInt64] = []
    /// The buffer's counts at the end: gaps given up by the hold, passed, late payloads.
    var counts = (skipped: 0, passed: 0, late: 0)
    /// Delivery time less the first copy's arrival, per delivered payload (ns).
    var added: [UInt64] = []
    var outOfOrder: Int { outOfOrder(after: 0) }

    /// Payloads numbered above `warmUp` delivered after a higher number.
    func outOfOrder(after warmUp: UInt64) -> Int {
        zip(delivered, delivered.dropFirst()).filter { $0 > $1 && $1 > warmUp }.count
    }

    func addedPercentile(_ fraction: Double) -> UInt64 {
        let sorted = added.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }

    /// Feeds `arrivals` to a receiver (first copies admitted, later ones recorded as copies)
    /// whose drain timer fires when the buffer says, as the runtime's does.
    static func run(_ arrivals: [LinkModel.Arrival], window: ReorderWindow) -> ReorderOutcome {
        var buffer = ReorderBuffer<Int>(window: window)
        var outcome = ReorderOutcome()
        var seen = Set<UInt64>()
        var firstArrival: [UInt64: UInt64] = [:]
        func release(at time: UInt64) {
            while buffer.releaseNext(
                now: Timestamp(nanoseconds: time),
                { bytes, _ in
                    let sequence = bytes.load(as: UInt64.self)
                    outcome.delivered.append(sequence)
                    outcome.added.append(time - (firstArrival[sequence] ?? time))
                })
            {}
        }
        var timer: UInt64?
        for arrival in arrivals {
            while let due = timer, due <= arrival.at {
                release(at: due)
                timer = buffer.nextDeadline(now: Timestamp(nanoseconds: due)).map { due + max($0.nanoseconds, 500_000) }
            }
            let now = Timestamp(nanoseconds: arrival.at)
            guard seen.insert(arrival.sequence).inserted else {
                if arrival.isPayload { buffer.recordCopy(sequence: arrival.sequence, path: arrival.path, now: now) }
                continue
            }
            firstArrival[arrival.sequence] = arrival.at
            let goesNow = withUnsafeBytes(of: arrival.sequence) {
                buffer.admit(
                    sequence: arrival.sequence, isPayload: arrival.isPayload, payload: $0, address: 1,
                    path: arrival.path, now: now)
            }
            if goesNow {
                outcome.delivered.append(arrival.sequence)
                outcome.added.append(0)
            }
            release(at: arrival.at)
            timer = buffer.nextDeadline(now: now).map { arrival.at + max($0.nanoseconds, 500_000) }
        }
        release(at: .max / 2)
        outcome.counts = (buffer.gapsSkipped, buffer.gapsPassed, buffer.lateDeliveries)
        return outcome
    }
}

@Suite("Reorder buffer, auto")
struct ReorderAutoTests {
    static func admit(
        _ buffer: inout ReorderBuffer<Int>, _ sequence: UInt64, path: Int, at time: UInt64, into out: inout [UInt64]
    ) {
        let goesNow = withUnsafeBytes(of: sequence) {
            buffer.admit(sequence: sequence, isPayload: true, payload: $0, address: 1, path: path, now: ms(time))
        }
        if goesNow { out.append(sequence) }
        while buffer.releaseNext(now: ms(time), { bytes, _ in out.append(bytes.load(as: UInt64.self)) }) {}
    }

    /// Two paths, the second 10 ms behind: sequence numbers 1...200 on both, path 1's copies
    /// recorded, so its lag is measured.
    static func warmedUp() -> (ReorderBuffer<Int>, [UInt64]) {
        var buffer = ReorderBuffer<Int>(window: .auto)
        var out: [UInt64] = []
        for sequence in UInt64(1)...200 {
            admit(&buffer, sequence, path: 0, at: sequence, into: &out)
            buffer.recordCopy(sequence: sequence, path: 1, now: ms(sequence + 10))
        }
        return (buffer, out)
    }

    @Test("the hold follows the measured lag of the slower path's copies, plus the margin")
    func holdFollowsLag() {
        let (buffer, out) = Self.warmedUp()
        #expect(out == Array(1...200))
        let hold = buffer.holdTime(now: ms(210))
        #expect(hold >= .milliseconds(11) && hold <= .milliseconds(12), "hold \(hold.nanoseconds) ns")
    }

    @Test("a gap the slower path fills goes out in order the moment its copy comes")
    func gapFilledBySlowerPath() {
        var (buffer, out) = Self.warmedUp()
        out.removeAll()
        Self.admit(&buffer, 202, path: 0, at: 202, into: &out)  // 201 lost on path 0
        Self.admit(&buffer, 203, path: 0, at: 203, into: &out)
        #expect(out.isEmpty && buffer.heldCount == 2)
        Self.admit(&buffer, 201, path: 1, at: 211, into: &out)
        #expect(out == [201, 202, 203])
        #expect(buffer.gapsSkipped == 0 && buffer.gapsPassed == 0)
    }

    @Test("a gap every live path has gone past is given up at once, before the hold runs out")
    func gapPassedByEveryPath() {
        var (buffer, out) = Self.warmedUp()
        out.removeAll()
        Self.admit(&buffer, 202, path: 0, at: 202, into: &out)  // 201 lost on both paths
        #expect(out.isEmpty)
        buffer.recordCopy(sequence: 202, path: 1, now: ms(212))  // path 1 is past 201 too
        while buffer.releaseNext(now: ms(212), { bytes, _ in out.append(bytes.load(as: UInt64.self)) }) {}
        #expect(out == [202])
        #expect(buffer.gapsPassed == 1 && buffer.gapsSkipped == 0)
    }

    @Test("a gap is given up when the hold runs out, and a late copy still goes out")
    func holdRunsOut() {
        var (buffer, out) = Self.warmedUp()
        out.removeAll()
        Self.admit(&buffer, 202, path: 0, at: 202, into: &out)
        let due = buffer.nextDeadline(now: ms(202))
        #expect(due.map { $0 > .milliseconds(10) && $0 < .milliseconds(13) } == true)
        while buffer.releaseNext(now: ms(215), { bytes, _ in out.append(bytes.load(as: UInt64.self)) }) {}
        #expect(out == [202] && buffer.gapsSkipped == 1)
        Self.admit(&buffer, 201, path: 1, at: 220, into: &out)
        #expect(out == [202, 201] && buffer.lateDeliveries == 1)
    }

    @Test("one path: nothing to wait for, every payload passes straight through, no storage made")
    func onePathPassesThrough() {
        var buffer = ReorderBuffer<Int>(window: .auto)
        var out: [UInt64] = []
        for sequence: UInt64 in [1, 2, 4, 5, 3, 7] { Self.admit(&buffer, sequence, path: 0, at: sequence, into: &out) }
        #expect(out == [1, 2, 4, 5, 3, 7])
        #expect(buffer.heldCount == 0 && buffer.slots.isEmpty && buffer.firstArrivals.isEmpty)
    }

    @Test("a path that carries only probes (a backup) is not waited for")
    func probeOnlyPathIgnored() {
        var (buffer, out) = Self.warmedUp()
        out.removeAll()
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        _ = buffer.admit(sequence: 201, isPayload: false, payload: none, address: nil, path: 2, now: ms(201))
        Self.admit(&buffer, 203, path: 0, at: 203, into: &out)  // 202 lost on paths 0 and 1
        buffer.recordCopy(sequence: 203, path: 1, now: ms(213))
        while buffer.releaseNext(now: ms(213), { bytes, _ in out.append(bytes.load(as: UInt64.self)) }) {}
        #expect(out == [203] && buffer.gapsPassed == 1)
    }

    @Test("a path silent for the live span no longer counts: its lag leaves the hold")
    func silentPathForgotten() {
        var (buffer, _) = Self.warmedUp()
        let later = ms(211) + Defaults.reorderLiveSpan  // path 1 was last heard at 210 ms
        var out: [UInt64] = []
        Self.admit(&buffer, 202, path: 0, at: later.nanoseconds / 1_000_000, into: &out)  // 201 lost
        #expect(buffer.holdTime(now: later) == TimeSpan(nanoseconds: 0))
        #expect(out == [202] && buffer.heldCount == 0)
    }

    @Test("a path 200 ms behind: the hold stops at the cap")
    func holdCapped() {
        var buffer = ReorderBuffer<Int>(window: .auto)
        var out: [UInt64] = []
        for sequence in UInt64(1)...20 {
            Self.admit(&buffer, sequence, path: 0, at: sequence, into: &out)
            buffer.recordCopy(sequence: sequence, path: 1, now: ms(sequence + 200))
        }
        #expect(buffer.holdTime(now: ms(220)) == Defaults.maximumAutoReorderHold)
    }

    /// The test bed's paths (5, 15 and 30 ms) with 5% loss each, 10,000 payloads a second
    /// for a second: `auto` delivers every payload some path carried, none out of order
    /// after the first 50 ms; without the buffer hundreds come out of order. Payloads wait for their gap at most
    /// the slowest path's lag and a little.
    @Test("5/15/30 ms paths, 5% loss each, 10,000/s: auto puts every payload in order")
    func linkModelFastStream() {
        var model = LinkModel(delays: [5, 15, 30], loss: 0.05, random: SplitMix64(seed: 42))
        let arrivals = model.arrivals(count: 10_000, interval: 100_000)
        let carried = Set(arrivals.filter(\.isPayload).map(\.sequence)).count
        let auto = ReorderOutcome.run(arrivals, window: .auto)
        let off = ReorderOutcome.run(arrivals, window: .off)
        #expect(auto.delivered.count == carried && off.delivered.count == carried)
        // The first 50 ms: until the slower paths' first copies come, nothing says to wait.
        #expect(auto.outOfOrder(after: 500) == 0, "auto: \(auto.outOfOrder) out of order")
        print("auto: \(auto.counts), off: \(off.counts)")
        #expect(off.outOfOrder > 300, "off: \(off.outOfOrder) out of order")
        let worst = auto.added.max() ?? 0
        #expect(worst <= 32_000_000, "longest wait \(worst) ns")
    }

    /// A ping's pace (50/s) over the same paths: a lost payload's copy fills its gap before
    /// the next payload comes, so almost nothing waits; p99 of the added delay stays under
    /// a millisecond.
    @Test("the same paths at 50/s: auto adds under 1 ms at p99")
    func linkModelSlowStream() {
        var model = LinkModel(delays: [5, 15, 30], loss: 0.05, random: SplitMix64(seed: 43))
        let arrivals = model.arrivals(count: 3_000, interval: 20_000_000)
        let auto = ReorderOutcome.run(arrivals, window: .auto)
        #expect(auto.delivered.count == Set(arrivals.filter(\.isPayload).map(\.sequence)).count)
        #expect(auto.addedPercentile(0.99) < 1_000_000, "p99 added \(auto.addedPercentile(0.99)) ns")
    }

    /// Balance mode's shape: each payload on one path only, so no copies and no lag: auto
    /// holds nothing and costs nothing.
    @Test("no copies (balance mode): auto passes everything through at once")
    func noCopiesNoHold() {
        var model = LinkModel(delays: [5, 15], loss: 0.0, random: SplitMix64(seed: 44))
        let arrivals = model.arrivals(count: 2_000, interval: 100_000, spread: true)
        let auto = ReorderOutcome.run(arrivals, window: .auto)
        #expect(auto.added.allSatisfy { $0 == 0 })
    }

    /// mpserver's side: path 1's copies come 10 ms after path 0's; in the third round of 40
    /// payloads path 0 loses one. The target gets every payload in order, the session is
    /// held only until path 1's copy fills the gap.
    @Test("mpserver with auto: a payload the fast path lost waits for the slow path's copy, in order")
    func serverPutsUpstreamInOrder() {
        let tunnel = TunnelHarness(paths: 2, serverReorderWindow: .auto)
        tunnel.establish()
        var slowCopies: [[UInt8]] = []
        var dropNext = false
        tunnel.upstreamTamper[0] = { _ in
            defer { dropNext = false }
            return !dropNext
        }
        tunnel.upstreamTamper[1] = { frame in
            slowCopies.append(frame)
            return false
        }
        for round in 0..<3 {
            tunnel.toTarget.removeAll()
            for index in 0..<40 {
                dropNext = round == 2 && index == 30
                tunnel.send([UInt8(round), UInt8(index)])
            }
            if round == 2 {
                #expect(tunnel.toTarget.count == 30, "payloads behind the gap are held")
                #expect(tunnel.server.holding.count == 1)
            }
            tunnel.now = tunnel.now + .milliseconds(10)
            for frame in slowCopies { tunnel.deliverUpstream(frame, from: tunnel.bridgeAddress(1)) }
            slowCopies.removeAll()
            tunnel.now = tunnel.now + .milliseconds(100)
        }
        #expect(tunnel.toTarget.map { Int($0.payload[1]) } == Array(0..<40))
        #expect(tunnel.server.holding.isEmpty)
    }
}
