// Reordering end to end (issues 4 and 13): with a path 30 ms slower than the other and 10%
// loss on the fast one, `reorder-window 50` at mpclient puts the application's payloads back
// in order, and `reorder-window auto` (the default of both daemons) puts both directions
// back in order. The test is mpserver's target itself, so it numbers the payloads both ways.
import MPCore
import MPRuntime
import MPTestSupport
import Testing

extension SchedulingTests {
    /// Numbered datagrams one way: how many went, which came, and how many came after a
    /// higher number (out of order). Numbers below `firstCounted` (the warm-up) are ignored.
    struct Tally {
        var firstCounted = Int.max
        var sent = 0
        var received = Set<Int>()
        var highest = -1
        var outOfOrder = 0
        /// Every arrival, warm-up included.
        var arrivals = 0

        mutating func record(_ number: Int) {
            arrivals += 1
            guard number >= firstCounted, received.insert(number).inserted else { return }
            if number < highest { outOfOrder += 1 } else { highest = number }
        }

        var counted: Int { max(sent - firstCounted, 0) }
        var lost: Int { counted - received.count }
        var text: String { "sent \(counted), received \(received.count), out of order \(outOfOrder), lost \(lost)" }
    }

    /// The application and the target, each sending numbered datagrams to the other at
    /// `rate` per second through the tunnel (the test is mpserver's target: it answers the
    /// address mpserver's flow socket sends from).
    final class TwoWayStream {
        let application: Prober
        let target: UDPSocket
        let rate: Int
        var flow: SocketAddress?
        var up = Tally()
        var down = Tally()
        private var buffer = [UInt8](repeating: 0, count: 2_048)
        private let start = ContinuousClock.now

        init(target: UDPSocket, listenPort: UInt16, rate: Int) throws {
            application = try Prober(to: .loopbackIPv4(port: listenPort))
            self.target = target
            self.rate = rate
        }

        /// Sends what is due at the rate (when `sending`), then reads both sockets dry.
        func step(sending: Bool) {
            let elapsed = start.duration(to: .now).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
            let due = Int(seconds * Double(rate))
            while sending && up.sent < due {
                application.send(Array(String(up.sent).utf8))
                up.sent += 1
            }
            while sending, let flow, down.sent < due {
                _ = Array(String(down.sent).utf8).withUnsafeBytes { target.send($0, to: flow) }
                down.sent += 1
            }
            while let (number, source) = read(target) {
                flow = source
                up.record(number)
            }
            while let (number, _) = read(application.socket) { down.record(number) }
        }

        /// Starts counting both directions from the next datagram.
        func startCounting() {
            up.firstCounted = up.sent
            down.firstCounted = down.sent
        }

        private func read(_ socket: UDPSocket) -> (Int, SocketAddress)? {
            let outcome = buffer.withUnsafeMutableBytes { socket.receive(into: $0) }
            guard case .datagram(let length, let source) = outcome, length <= buffer.count else { return nil }
            return (Int(String(decoding: buffer[..<length], as: UTF8.self)) ?? -1, source)
        }
    }

    /// What one run of the reorder setup saw: both tallies, the relays' summaries, and the
    /// most the slow relay was late (ms past the 30 ms it holds each datagram) while payloads
    /// were counted: on a busy machine it may not be scheduled in time.
    struct ReorderRun {
        var up: Tally
        var down: Tally
        var relays: [String]
        var slowRelayLate: Int

        var text: String {
            "to the application \(down.text); to the target \(up.text); "
                + "slow relay late by up to \(slowRelayLate) ms\n  " + relays.joined(separator: "\n  ")
        }
    }

    /// Two paths, the slow one 30 ms later each way, the fast one losing 10% each way;
    /// duplicate mode, with `reorder-window` `window` at mpclient and `serverWindow` at
    /// mpserver; numbered payloads both ways at ``reorderRate``, counted for
    /// ``reorderSeconds`` after half a second.
    func reorderRun(window: String, serverWindow: String = "auto") throws -> ReorderRun {
        let target = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        target.setBufferSizes(receive: 4 << 20, send: 4 << 20)
        let setup = try Lab(
            target: try target.localAddress.port, relays: [(0, 0, 30), (0, 0.1, 0)],
            serverArguments: ["--reorder-window", serverWindow])
        let listenPort = try setup.startClient(paths: [0, 1], extraLines: ["reorder-window \(window)"]).port
        let stream = try TwoWayStream(target: target, listenPort: listenPort, rate: Self.reorderRate)
        let connected = waitUntil(timeout: .seconds(10), poll: .milliseconds(1)) {
            stream.step(sending: true)
            return stream.down.arrivals > 0
        }
        try #require(connected, "\(setup.lab.logs)")
        var slowLogStart = 0
        // Half a second of warm-up (the session's first frames, both paths carrying), then count.
        for (duration, counting) in [(0.5, false), (Self.reorderSeconds, true)] {
            if counting {
                stream.startCounting()
                slowLogStart = setup.relays[0].log.count
            }
            waitUntil(timeout: .milliseconds(Int64(duration * 1_000)), poll: .milliseconds(1)) {
                stream.step(sending: true)
                return false
            }
        }
        // Stragglers: the slow path's 30 ms, the window and a margin.
        waitUntil(timeout: .milliseconds(300), poll: .milliseconds(1)) {
            stream.step(sending: false)
            return false
        }
        let relays = setup.stopRelays()
        let late = Lab.lateness(in: String(setup.relays[0].log.dropFirst(slowLogStart)))
        return ReorderRun(up: stream.up, down: stream.down, relays: relays, slowRelayLate: late)
    }

    /// 200 payloads per second each way for 2 s: 400 payloads, about 40 that the fast path
    /// loses and only the slow one brings, each behind 6 that overtook it. At 500/s the debug
    /// daemons on a busy 2-core machine fall behind in bursts (mpclient was seen reading 64
    /// frames of the fast path over 40-100 ms while the slow path's waited unread), and the
    /// slow copies come more than the window late: the premise fails, not the reorder buffer.
    static let reorderRate = 200
    static let reorderSeconds = 2.0

    /// 0: the window (50 ms) covers the slow path's 30 ms with 20 ms to spare, and the relay
    /// reports lateness from 10 ms. A try in which it reported any ate half the margin or
    /// more (the rest goes to the daemons' own scheduling), so it does not test what the
    /// issue asks: "a path 30 ms slower".
    static let allowedLateness = 0

    @Test("reorder-window 50, a path 30 ms slower, 10% loss on the fast one: no payload out of order", .tags(.timing))
    func reorderWindowHidesSkew() throws {
        // Up to six tries: one that failed runs again only if the slow relay reported running
        // late (a busy machine left it unscheduled and made that path slower than the window
        // covers) or the host stole the time; a try that passed with a slower path passed a
        // harder test.
        let run = try retryingAfterAHostPause(
            "reorder-window 50", attempts: 6, { try reorderRun(window: "50", serverWindow: "off") },
            passes: { $0.down.received.count * 100 >= $0.down.counted * 99 && $0.down.outOfOrder == 0 },
            ranLate: { $0.slowRelayLate > Self.allowedLateness })
        print("reorder-window 50: \(run.text)")
        #expect(run.down.received.count * 100 >= run.down.counted * 99, "\(run.text)")
        #expect(run.down.outOfOrder == 0, "\(run.text)")
    }

    @Test("reorder-window auto at both ends, the same paths: no payload out of order either way", .tags(.timing))
    func autoWindowHidesSkewBothWays() throws {
        func inOrder(_ tally: Tally) -> Bool {
            tally.received.count * 100 >= tally.counted * 99 && tally.outOfOrder == 0
        }
        let run = try retryingAfterAHostPause(
            "reorder-window auto", attempts: 6, { try reorderRun(window: "auto") },
            passes: { inOrder($0.down) && inOrder($0.up) }, ranLate: { $0.slowRelayLate > Self.allowedLateness })
        print("reorder-window auto: \(run.text)")
        for tally in [run.down, run.up] {
            #expect(tally.received.count * 100 >= tally.counted * 99, "\(run.text)")
            #expect(tally.outOfOrder == 0, "\(run.text)")
        }
    }

    @Test(
        "with reorder-window off the same paths deliver payloads out of order (the tests above can fail)",
        .tags(.timing))
    func noWindowReorders() throws {
        let run = try retryingAfterAHostPause(
            "no reorder window", { try reorderRun(window: "off", serverWindow: "off") },
            passes: { $0.down.received.count * 100 >= $0.down.counted * 99 && $0.down.outOfOrder > 0 },
            ranLate: { $0.slowRelayLate > Self.allowedLateness })
        print("no reorder window: \(run.text)")
        #expect(run.down.received.count * 100 >= run.down.counted * 99, "\(run.text)")
        #expect(run.down.outOfOrder > 0, "\(run.text)")
    }
}
