import Testing

@testable import MPCore

@Suite("A path's load: the departure log and probing")
struct PathLoadTests {
    @Test("a report's frame is dated by its own entry, or half way to the next when the log skipped it")
    func departureLookup() {
        var load = PathLoad()
        let start = Timestamp(nanoseconds: 1_000_000_000)
        // Frames 0.2 ms apart: the log keeps one per 0.5 ms, skipping the frames in between.
        for sequence in UInt64(0)..<20 {
            load.recordSend(sequence: sequence, bytes: 1_232, now: start + TimeSpan(nanoseconds: 200_000 * sequence))
        }
        let logged = load.log.map(\.sequence)
        #expect(logged == [0, 3, 6, 9, 12, 15, 18])
        #expect(load.departure(of: 9)?.time == start + TimeSpan(nanoseconds: 1_800_000))
        // Frame 10 left 0.2 ms after frame 9, and the next entry (12) 0.6 ms after it: dated
        // half the log's spacing after 9.
        #expect(load.departure(of: 10)?.time == start + TimeSpan(nanoseconds: 2_050_000))
        #expect(load.departure(of: 25)?.time == start + TimeSpan(nanoseconds: 3_850_000))
        var empty = PathLoad()
        #expect(empty.departure(of: 1) == nil)
        empty.recordSend(sequence: 5, bytes: 100, now: start)
        #expect(empty.departure(of: 4) == nil)
    }

    /// A link of `capacity` bytes a second and 5 ms of delay, fed `rate` frames of `bytes`
    /// bytes a second for `seconds` from `start`, with a report every 50 ms naming the last
    /// frame arrived (as ``PathReport`` does); returns when it ended. `used`: the scheduler
    /// gave other paths payloads because of this one's queue (``PathLoad/declined``).
    private static func drive(
        _ load: inout PathLoad, link: inout (capacity: Double, free: Double, arrivals: [(UInt64, Double)]),
        sequence: inout UInt64, from start: Double, seconds: Double, rate: Double, bytes: Int, used: Bool = false
    ) -> Double {
        var time = start
        var nextReport = start + 0.05
        let end = start + seconds
        while time < end {
            load.recordSend(sequence: sequence, bytes: bytes, now: Timestamp(nanoseconds: UInt64(time * 1e9)))
            link.free = max(link.free, time) + Double(bytes + PathLoad.headerOverhead) / link.capacity
            link.arrivals.append((sequence, link.free + 0.005))
            sequence += 1
            time += 1 / rate
            while nextReport <= time {
                let arrived = link.arrivals.filter { $0.1 <= nextReport }
                if let last = arrived.last {
                    if used { load.declined = true }
                    load.recordFeedback(
                        sequence: last.0, received: arrived.count, arrival: Timestamp(nanoseconds: UInt64(last.1 * 1e9))
                    )
                }
                nextReport += 0.05
            }
        }
        return end
    }

    @Test("a path probes for more while it was never saturated, and not for 10 s after it was")
    func probingAfterSaturation() {
        var load = PathLoad()
        var link = (capacity: 1_000.0 * 1_260, free: 0.0, arrivals: [(UInt64, Double)]())
        var sequence: UInt64 = 0
        // Light traffic (acknowledgements of an upload): the estimate says only what the
        // path was given, so it may take 64 times that (1 Gbit/s at least) before a queue
        // shows.
        var time = Self.drive(&load, link: &link, sequence: &sequence, from: 1, seconds: 2, rate: 100, bytes: 100)
        let headroom = { max(load.rate * PathLoad.startupHeadroom, PathLoad.startupFloor) }
        #expect(load.isProbing && load.drainRate == headroom(), "\(load.rate)")
        // Twice what the link carries: a queue stands, the estimate is the link's capacity.
        // Saturated whether or not the scheduler held payloads back: a probing path that
        // leads takes a burst alone, and its overflow must end the probing.
        time = Self.drive(&load, link: &link, sequence: &sequence, from: time, seconds: 1, rate: 2_000, bytes: 1_232)
        #expect(!load.isProbing && abs(load.rate / link.capacity - 1) < 0.2, "\(load.rate)")
        #expect(load.drainRate == load.rate)
        // Light again: the capacity is known for 10 s from the last saturated sample.
        link.free = time + 1  // the queue drains in the pause
        time = Self.drive(&load, link: &link, sequence: &sequence, from: time + 1, seconds: 5, rate: 100, bytes: 100)
        #expect(!load.isProbing && load.drainRate == load.rate)
        time = Self.drive(&load, link: &link, sequence: &sequence, from: time, seconds: 6, rate: 100, bytes: 100)
        #expect(load.isProbing && load.drainRate == headroom())
    }

    @Test("a path that carried all it was given at the estimate that traffic set, never limiting it, probes")
    func probingAtOwnEstimate() {
        // Acknowledgements of an upload, 3.2 Mbit/s of small frames on a 10 Mbit/s link:
        // more than the first estimate, so the estimate grows to their rate and they keep
        // the path at it. Only the scheduler knows whether the path limited anything.
        for used in [false, true] {
            var load = PathLoad()
            var link = (capacity: 1_000.0 * 1_260, free: 0.0, arrivals: [(UInt64, Double)]())
            var sequence: UInt64 = 0
            _ = Self.drive(
                &load, link: &link, sequence: &sequence, from: 1, seconds: 3, rate: 4_000, bytes: 72, used: used)
            #expect(abs(load.rate / (4_000 * 100) - 1) < 0.2, "\(load.rate)")
            // Never declined: application-limited, so a download may take the path at once.
            // Declined by the virtual queue alone (the link's stayed empty), the first startup
            // goes on only while the delivery grows: three samples that did not grow end it.
            #expect(load.isProbing == !used, "used \(used)")
        }
    }

    @Test("a payload's base delay is at most a small frame's plus a payload's serialization")
    func baseDelayBound() {
        var load = PathLoad()
        let start = Timestamp(nanoseconds: 1_000_000_000)
        // A payload that waited 48 ms behind a burst, then only reports 20 ms long.
        load.recordSend(sequence: 0, bytes: 1_232, now: start)
        load.recordFeedback(sequence: 0, received: 1, arrival: start + .milliseconds(68))
        #expect(load.baseDelay == 68_000_000)
        for sequence in UInt64(1)...5 {
            let sent = start + .milliseconds(100 * sequence)
            load.recordSend(sequence: sequence, bytes: 100, now: sent)
            load.recordFeedback(sequence: sequence, received: 1 + Int(sequence), arrival: sent + .milliseconds(20))
        }
        // 20 ms plus 1,260 bytes at the first estimate of 2 Mbit/s (5.04 ms).
        #expect(load.baseDelay == 25_040_000)
    }

    @Test("a path counts as used when a payload went elsewhere because of its queue, not of its delay")
    func declinedByQueue() {
        var balancer = LoadBalancer(caps: [nil, nil])
        balancer.loads[0].isProbing = false
        balancer.loads[1].isProbing = false
        let now = Timestamp(nanoseconds: 1_000_000_000)
        // Path 1 10 ms longer; path 0 at the first estimate, 5 ms a payload.
        func pick() -> Int {
            let path = balancer.earliest(among: .first(2), bytes: 1_232, now: now) {
                TimeSpan(nanoseconds: $0 == 0 ? 0 : 10_000_000)
            }!
            balancer.recordSend(path: path, sequence: 0, bytes: 1_232, now: now, payload: true)
            return path
        }
        // Path 0 first: path 1 lost by its delay alone.
        #expect(pick() == 0)
        let slowerDeclined = balancer.loads[1].declined
        #expect(!slowerDeclined)
        // Path 0's queue passes 10 ms: the next payload goes on path 1 because of it.
        #expect(pick() == 0)
        #expect(pick() == 1)
        let (fastDeclined, chosenDeclined) = (balancer.loads[0].declined, balancer.loads[1].declined)
        #expect(fastDeclined && !chosenDeclined)
    }

    @Test("a probing path takes a burst alone only while its delay leads the others' by 1 ms")
    func probingLeads() {
        // Path 0 saturated (its capacity known), path 1 probing, both at 2 Mbit/s: 20 frames
        // of 1,232 bytes sent at one instant.
        func picks(delays: [Int64]) -> [Int] {
            var balancer = LoadBalancer(caps: [nil, nil])
            balancer.loads[0].isProbing = false
            let now = Timestamp(nanoseconds: 1_000_000_000)
            return (0..<20).map { sequence in
                let path = balancer.earliest(among: .first(2), bytes: 1_232, now: now) {
                    TimeSpan(nanoseconds: UInt64(delays[$0]))
                }!
                balancer.recordSend(path: path, sequence: UInt64(sequence), bytes: 1_232, now: now, payload: true)
                return path
            }
        }
        // The same delay (0.5 ms apart): no headroom, only the startup gain, so the probing
        // path takes two thirds of the burst.
        let even = picks(delays: [500_000, 0])
        #expect(abs(even.filter { $0 == 1 }.count - 13) <= 1, "\(even)")
        // Path 1 10 ms sooner: it takes the burst alone.
        let lead = picks(delays: [10_000_000, 0])
        #expect(lead == Array(repeating: 1, count: 20), "\(lead)")
    }
}
