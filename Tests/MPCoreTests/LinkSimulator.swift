@testable import MPCore
import MPLabSupport

/// One direction of a simulated link, as `mplab relay` models it: a shaper of `rate`
/// datagrams a second with a drop-tail queue of 50 ms (at least 4 datagrams) and a bucket as
/// deep, random loss, then a fixed delay. A byte-rate link (`perByte`) is a line of `rate`
/// full-size frames a second (1,260 bytes with their IP and UDP headers: a 1,200-byte
/// payload's frame), where a smaller frame takes its share of a slot, as on a real line.
/// Seeded; no clock.
struct SimulatedLink {
    /// Datagrams per second, or full-size frames per second on a byte-rate link; 0 is unlimited.
    var rate: Int
    var delay: TimeSpan
    var loss: Double
    var perByte: Bool
    /// When the link is free to send the next datagram.
    var nextFree: Timestamp?
    var overflowed = 0
    /// Up to this much more delay, uniformly random, as a loaded relay's late timers add; the
    /// link stays first in, first out.
    var jitter = TimeSpan(nanoseconds: 0)
    var lastArrival: Timestamp?

    /// A full-size frame on the line: 1,200 bytes of payload, the frame header, IP and UDP.
    static let fullFrame = 1_260

    init(rate: Int = 0, delayMilliseconds: UInt64 = 0, loss: Double = 0, perByte: Bool = false) {
        self.rate = rate
        self.delay = .milliseconds(delayMilliseconds)
        self.loss = loss
        self.perByte = perByte
    }

    /// When a datagram of `bytes` bytes put on the link at `now` arrives; `nil` when it is
    /// lost or the queue is full.
    mutating func arrival(now: Timestamp, bytes: Int, random: inout SplitMix64) -> Timestamp? {
        if loss > 0, Double(random.next() % 1_000_000) / 1_000_000 < loss { return nil }
        guard rate > 0 else { return jittered(now + delay, random: &random) }
        let interval = 1_000_000_000 / UInt64(rate)
        let service = perByte ? interval * UInt64(bytes + 28) / UInt64(Self.fullFrame) : interval
        let queueLength = max(Int((Double(rate) * 0.05).rounded()), 4)
        let burst = TimeSpan(nanoseconds: interval * UInt64(queueLength))
        let earliest = Timestamp(nanoseconds: now.nanoseconds - min(now.nanoseconds, burst.nanoseconds))
        let slot = max(earliest, nextFree ?? earliest)
        // Full when the datagram would wait behind a whole queue.
        guard slot < now + burst else {
            overflowed += 1
            return nil
        }
        nextFree = slot + TimeSpan(nanoseconds: service)
        return jittered(max(slot, now) + delay, random: &random)
    }

    private mutating func jittered(_ arrival: Timestamp, random: inout SplitMix64) -> Timestamp {
        guard jitter.nanoseconds > 0 else { return arrival }
        let late = arrival + TimeSpan(nanoseconds: random.next() % jitter.nanoseconds)
        let kept = max(late, lastArrival ?? late)
        lastArrival = kept
        return kept
    }
}

/// A client and a server session over simulated links (``SimulatedLink``), with discrete
/// events in virtual time: the application sends payloads at a fixed rate, the target echoes
/// each one, the runtimes' timers run (ticks, reports, balance mode's one-path reports).
/// Counts what arrives, how late and in what order. No socket, no clock.
final class LinkSimulator {
    enum Event {
        case upstream(frame: [UInt8], path: Int)
        case downstream(frame: [UInt8], path: Int)
        case payload
        case clientTick
        case clientFeedback
        case serverReports
    }

    /// The measurement of one direction.
    struct Direction {
        var sent = 0
        var delivered = 0
        var outOfOrder = 0
        var highest = -1
        var latencies: [TimeSpan] = []
        var seen = Set<Int>()
        /// Out-of-order payloads by the path they came on.
        var outOfOrderByPath: [Int: Int] = [:]

        var lossShare: Double { sent == 0 ? 0 : 1 - Double(delivered) / Double(sent) }
        var outOfOrderShare: Double { delivered == 0 ? 0 : Double(outOfOrder) / Double(delivered) }

        func latency(at quantile: Double) -> TimeSpan {
            let sorted = latencies.sorted { $0 < $1 }
            guard !sorted.isEmpty else { return TimeSpan(nanoseconds: 0) }
            return sorted[min(Int(Double(sorted.count) * quantile), sorted.count - 1)]
        }

        mutating func record(id: Int, sentAt: Timestamp, now: Timestamp, path: Int) {
            guard seen.insert(id).inserted else { return }
            delivered += 1
            if id < highest {
                outOfOrder += 1
                outOfOrderByPath[path, default: 0] += 1
            }
            highest = max(highest, id)
            latencies.append(now - sentAt)
        }
    }

    let client: ClientSession<Int>
    let server = ServerEngine<Int>()
    var up: [SimulatedLink]
    var down: [SimulatedLink]
    var random: SplitMix64
    var now = Timestamp(nanoseconds: 1_000_000_000)
    /// Payloads per second the application sends (and the target echoes when `echo`).
    let payloadRate: Int
    let payloadSize: Int
    let echo: Bool
    var upstream = Direction()
    var downstream = Direction()
    /// Only payloads sent from `measureFrom` on are counted.
    var measureFrom = Timestamp(nanoseconds: 0)
    private var events: [(time: Timestamp, order: Int, event: Event)] = []
    private var order = 0
    private var buffer = [UInt8](repeating: 0, count: 2_048)
    private var reply = [UInt8](repeating: 0, count: 256)
    private var nextID = 0
    private var sendTimes: [Int: Timestamp] = [:]

    init(
        up: [SimulatedLink], down: [SimulatedLink], payloadRate: Int, payloadSize: Int = 1_200, echo: Bool = true,
        seed: UInt64 = 1, rateCaps: [RateCap?] = []
    ) {
        self.up = up
        self.down = down
        self.payloadRate = payloadRate
        self.payloadSize = payloadSize
        self.echo = echo
        random = SplitMix64(seed: seed)
        client = ClientSession(sessionID: 0x5151_0001, pathCount: up.count, mode: .balance, rateCaps: rateCaps)
    }

    /// Runs the tunnel for `seconds` of virtual time, calling `change(seconds)` at each whole
    /// second (to change a link); payloads flow from `loadAfter` seconds on (the session is
    /// accepted by then).
    /// Payloads sent from `measureAfter` seconds on are counted. Call once.
    func run(
        seconds: Int, loadAfter: Int = 2, measureAfter: Int = 2, change: (Int, LinkSimulator) -> Void = { _, _ in }
    ) {
        let start = now
        schedule(.clientTick, at: now)
        schedule(.clientFeedback, at: now)
        schedule(.serverReports, at: now)
        schedule(.payload, at: now + .seconds(UInt64(loadAfter)))
        measureFrom = now + .seconds(UInt64(max(loadAfter, measureAfter)))
        let end = now + .seconds(UInt64(seconds))
        var second = 0
        while let next = popEvent(), next.time <= end {
            now = next.time
            while now - start >= .seconds(UInt64(second)) {
                change(second, self)
                second += 1
            }
            handle(next.event)
        }
    }

    private func handle(_ event: Event) {
        switch event {
        case .upstream(let frame, let path): receiveUpstream(frame, path: path)
        case .downstream(let frame, let path): receiveDownstream(frame, path: path)
        case .payload:
            sendPayload()
            schedule(.payload, at: now + TimeSpan(nanoseconds: 1_000_000_000 / UInt64(payloadRate)))
        case .clientTick:
            _ = client.updateHealth(now: now)
            for path in 0..<up.count {
                if let length = buffer.withUnsafeMutableBytes({ client.probe(path: path, now: now, into: $0) }) {
                    sendUp(Array(buffer[..<length]), path: path)
                }
            }
            if let length = buffer.withUnsafeMutableBytes({ client.report(now: now, into: $0) }) {
                for path in client.candidatePaths(now: now).members { sendUp(Array(buffer[..<length]), path: path) }
            }
            while let length = buffer.withUnsafeMutableBytes({ client.nextHeldFrame(now: now, into: $0) }) {
                for path in client.pathsFor(now: now, bytes: length).members {
                    sendUp(Array(buffer[..<length]), path: path)
                }
            }
            schedule(.clientTick, at: now + .milliseconds(100))
        case .clientFeedback:
            if let (length, path) = buffer.withUnsafeMutableBytes({ client.feedback(now: now, into: $0) }) {
                sendUp(Array(buffer[..<length]), path: path)
            }
            schedule(.clientFeedback, at: now + Defaults.feedbackShortInterval)
        case .serverReports:
            for session in server.sessions.values {
                if let (length, path) = buffer.withUnsafeMutableBytes({
                    server.feedback(for: session, now: now, into: $0)
                }) {
                    sendDown(Array(buffer[..<length]), path: path)
                }
                if let length = buffer.withUnsafeMutableBytes({ server.report(for: session, now: now, into: $0) }) {
                    for path in session.reportPaths(now: now).members { sendDown(Array(buffer[..<length]), path: path) }
                }
            }
            schedule(.serverReports, at: now + Defaults.feedbackShortInterval)
        }
    }

    private func sendPayload() {
        let id = nextID
        nextID += 1
        sendTimes[id] = now
        if now >= measureFrom { upstream.sent += 1 }
        let outcome = buffer.withUnsafeMutableBytes { frame in
            withUnsafeBytes(of: UInt64(id)) {
                frame.baseAddress!.advanced(by: FrameLayout.headerSize).copyMemory(from: $0.baseAddress!, byteCount: 8)
            }
            return client.encodePayload(length: payloadSize, from: 1, now: now, in: frame)
        }
        guard case .send(let length) = outcome else { return }
        let paths = client.pathsFor(now: now, bytes: length)
        for path in paths.members { sendUp(Array(buffer[..<length]), path: path) }
    }

    private func sendUp(_ frame: [UInt8], path: Int) {
        var frame = frame
        frame[FrameLayout.pathIDOffset] = UInt8(path)
        client.recordSend(path: path, bytes: frame.count)
        if let at = up[path].arrival(now: now, bytes: frame.count, random: &random) {
            schedule(.upstream(frame: frame, path: path), at: at)
        }
    }

    private func sendDown(_ frame: [UInt8], path: Int) {
        guard path < down.count, let session = server.sessions[client.sessionID],
            session.pathAddresses[path] != nil
        else { return }
        var frame = frame
        frame[FrameLayout.pathIDOffset] = UInt8(path)
        session.recordSend(path: path, bytes: frame.count)
        if let at = down[path].arrival(now: now, bytes: frame.count, random: &random) {
            schedule(.downstream(frame: frame, path: path), at: at)
        }
    }

    private func receiveUpstream(_ frame: [UInt8], path: Int) {
        var frame = frame
        let verdict = frame.withUnsafeMutableBytes { bytes in
            reply.withUnsafeMutableBytes { replyBytes in
                server.receiveFrame(bytes, from: 1_000 + path, now: now, reply: replyBytes, using: &random)
            }
        }
        switch verdict {
        case .deliver(let payload, let session, let flow):
            let id = payloadID(frame, at: payload.lowerBound)
            if let sentAt = sendTimes[id], sentAt >= measureFrom {
                upstream.record(id: id, sentAt: sentAt, now: now, path: path)
            }
            guard echo else { return }
            // Echoes of payloads sent before the measurement are not counted either way.
            if let sentAt = sendTimes[id], sentAt >= measureFrom { downstream.sent += 1 }
            let length = buffer.withUnsafeMutableBytes { out in
                out.baseAddress!.advanced(by: FrameLayout.headerSize).copyMemory(
                    from: frame.withUnsafeBytes { $0.baseAddress!.advanced(by: payload.lowerBound) },
                    byteCount: payload.count)
                return server.encodePayload(length: payload.count, session: session, flowID: flow, in: out)
            }
            guard let length else { return }
            echoSentAt[id] = now
            echoOrder[id] = echoOrder.count
            for path in session.replyPaths(now: now, bytes: length).members {
                sendDown(Array(buffer[..<length]), path: path)
            }
        case .reply(let length, let to):
            sendDown(Array(reply[..<length]), path: to - 1_000)
        case .consumed, .dropped: break
        }
    }

    /// When the target echoed each payload.
    private var echoSentAt: [Int: Timestamp] = [:]
    /// The order the target echoed the payloads in: the way back's order is judged by it,
    /// apart from the way up's.
    private var echoOrder: [Int: Int] = [:]

    private func receiveDownstream(_ frame: [UInt8], path: Int) {
        var frame = frame
        let verdict = frame.withUnsafeMutableBytes { client.receiveFrame($0, path: path, now: now) }
        switch verdict {
        case .deliver(let payload, _):
            let id = payloadID(frame, at: payload.lowerBound)
            if let sentAt = echoSentAt[id], let echoed = echoOrder[id], let payloadSentAt = sendTimes[id],
                payloadSentAt >= measureFrom
            {
                downstream.record(id: echoed, sentAt: sentAt, now: now, path: path)
            }
        case .accepted:
            for path in 0..<up.count {
                if let length = buffer.withUnsafeMutableBytes({ client.probe(path: path, now: now, into: $0) }) {
                    sendUp(Array(buffer[..<length]), path: path)
                }
            }
        default: break
        }
    }

    private func payloadID(_ frame: [UInt8], at offset: Int) -> Int {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(frame[offset + index]) << (8 * UInt64(index)) }
        return Int(value)
    }

    private func schedule(_ event: Event, at time: Timestamp) {
        order += 1
        // A binary heap on (time, order).
        events.append((time, order, event))
        var child = events.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(events[child], events[parent]) else { break }
            events.swapAt(child, parent)
            child = parent
        }
    }

    private func popEvent() -> (time: Timestamp, order: Int, event: Event)? {
        guard !events.isEmpty else { return nil }
        events.swapAt(0, events.count - 1)
        let first = events.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < events.count, Self.precedes(events[left], events[smallest]) { smallest = left }
            if right < events.count, Self.precedes(events[right], events[smallest]) { smallest = right }
            guard smallest != parent else { break }
            events.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    private static func precedes(
        _ lhs: (time: Timestamp, order: Int, event: Event), _ rhs: (time: Timestamp, order: Int, event: Event)
    ) -> Bool {
        lhs.time < rhs.time || (lhs.time == rhs.time && lhs.order < rhs.order)
    }
}
