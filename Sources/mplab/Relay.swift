// A dumb lossy UDP relay, like `socat udp-listen:4000,fork udp4:HOST:PORT` with loss: every
// client address gets its own upstream socket (a mapping), so a restarted client on a new
// port gets a fresh mapping and replies go back to whoever sent them. Each direction drops
// datagrams with its own seeded generator, may be limited to a rate (a link of fixed
// capacity with a short queue, RelayRateLimiter) and may hold them for a fixed delay.
// It reads and writes in batches, as a kernel forwarding path would move them: what one
// receive takes goes on in one send per destination, runs of same-sized datagrams kept
// together (GRO in, GSO out), so the relays cost the benchmark little.
import Glibc
import MPLabSupport
import MPCore
import MPRuntime

/// Which way a datagram travels through the relay.
enum RelayDirection {
    /// Client to upstream (towards mpserver).
    case up
    /// Upstream to client.
    case down
}

/// One client address and its upstream socket.
final class RelayMapping {
    let client: SocketAddress
    let socket: UDPSocket
    var watcher: IOWatcher?
    /// The relay's tick (seconds) when the client last sent.
    var lastActiveTick: UInt64

    init(client: SocketAddress, socket: UDPSocket, tick: UInt64) {
        self.client = client
        self.socket = socket
        lastActiveTick = tick
    }
}

/// What one direction of the relay does to its datagrams, in this order: drop, rate, delay.
struct RelayLinkSettings {
    /// Probability of dropping each datagram (0 to 1).
    var dropProbability: Double = 0
    /// Fixed delay added to every datagram (one way).
    var delay = TimeSpan(nanoseconds: 0)
    /// The link's capacity; `nil` is unlimited.
    var rate: RateCap?
    /// Drops every payload frame (upstream or downstream data) and passes the rest: probes,
    /// reports and parity. `mplab fec`'s rebuild row: a known share of payloads must be
    /// rebuilt, on a path that stays up.
    var dropsPayloadFrames = false
}

struct RelaySettings {
    var listen: SocketAddress
    var target: SocketAddress
    /// Client to upstream.
    var up: RelayLinkSettings
    /// Upstream to client.
    var down: RelayLinkSettings
    var seed: UInt64
    var idleTimeoutSeconds: UInt64
}

final class Relay {
    /// 1,024 clients: far more than a lab run has; bounds descriptors if something sprays.
    static let maximumMappings = 1_024
    /// Receives (of up to ``receiveCapacity`` datagrams or runs each) per readiness event
    /// before the loop serves other sockets.
    static let receivesPerEvent = 2
    static let receiveCapacity = 32
    /// Datagrams per send batch, sendmmsg's limit: one receive of 32 runs can hold up to
    /// 2,048 datagrams, so a full batch is sent and the next one begun.
    static let sendCapacity = 1_024

    private(set) var settings: RelaySettings
    let listenAddress: SocketAddress
    private(set) var up = DirectionCounters()
    private(set) var down = DirectionCounters()
    /// Receive errors such as ECONNREFUSED after the upstream went away: counted, ignored.
    private(set) var receiveErrors = 0
    private(set) var expiredMappings = 0
    /// The most a held datagram (--delay-ms, --rate) left after its time, since start.
    var maximumLateness = TimeSpan(nanoseconds: 0)
    private var mappings: [SocketAddress: RelayMapping] = [:]
    private var upDrops: DropDecider
    private var downDrops: DropDecider
    private let lab: LabLoop
    private let listenSocket: UDPSocket
    /// One receive batch for every socket; slots hold any UDP datagram, so nothing is cut.
    private let received = ReceiveBatch(capacity: Relay.receiveCapacity)
    /// Datagrams on their way without delay or rate limit, sent after each receive: to the
    /// upstream of one mapping (``pendingUpstream``), and to the clients.
    private let upstreamBatch: SendBatch
    private var pendingUpstream: RelayMapping?
    private let downstreamBatch: SendBatch
    /// One queue per direction, since the two delays may differ and each queue is a FIFO.
    private(set) var upDelay: RelayDelayQueue?
    private(set) var downDelay: RelayDelayQueue?
    private(set) var upLink: RelayRateLimiter?
    private(set) var downLink: RelayRateLimiter?
    /// Links replaced by ``setRate(_:)``, kept until their queues empty (their timers hold
    /// only unowned references).
    private var retiredLinks: [RelayRateLimiter] = []
    private var listenWatcher: IOWatcher?
    private var tickTimer: TimerWatcher?
    private var tick: UInt64 = 0
    /// Called every second, after expiry: the command writes its stats file here.
    var onTick: (() -> Void)?
    /// Called when held datagrams left more than ``lateReportThreshold`` after their time
    /// (see ``reportLateness()``), with the most any of them was late.
    var onLate: ((TimeSpan) -> Void)?

    init(settings: RelaySettings, lab: LabLoop) throws {
        self.settings = settings
        self.lab = lab
        listenSocket = try UDPSocket(bindingTo: settings.listen)
        listenSocket.setBufferSizes(receive: 4 << 20, send: 4 << 20)
        listenSocket.enableReceiveCoalescing()
        listenAddress = try listenSocket.localAddress
        upstreamBatch = SendBatch(capacity: Self.sendCapacity, family: settings.target.family)
        downstreamBatch = SendBatch(capacity: Self.sendCapacity, family: listenSocket.family)
        upDrops = DropDecider(probability: settings.up.dropProbability, seed: settings.seed)
        // A different stream for replies, so the two directions drop independently.
        var seeds = SplitMix64(seed: settings.seed)
        downDrops = DropDecider(probability: settings.down.dropProbability, seed: seeds.next())
        upDelay = try makeDelayQueue(settings.up)
        downDelay = try makeDelayQueue(settings.down)
        upLink = try makeLink(settings.up)
        downLink = try makeLink(settings.down)
    }

    private func makeDelayQueue(_ link: RelayLinkSettings) throws -> RelayDelayQueue? {
        guard link.delay.nanoseconds > 0 else { return nil }
        return try RelayDelayQueue(loop: lab.loop) { [unowned self] in deliver($0, client: $1, bytes: $2) }
    }

    private func makeLink(_ link: RelayLinkSettings) throws -> RelayRateLimiter? {
        guard let rate = link.rate else { return nil }
        return try RelayRateLimiter(loop: lab.loop, rate: rate) { [unowned self] in
            propagate($0, client: $1, bytes: $2)
        }
    }

    var mappingCount: Int { mappings.count }

    /// Makes both directions links of `rate` from now on (`nil`: unlimited); what the old
    /// links hold still leaves on their schedule. Throws, and keeps the old links, when the
    /// kernel gives no timer.
    func setRate(_ rate: RateCap?) throws {
        var up = settings.up
        var down = settings.down
        up.rate = rate
        down.rate = rate
        let links = (try makeLink(up), try makeLink(down))
        settings.up = up
        settings.down = down
        retiredLinks += [upLink, downLink].compactMap { $0 }
        (upLink, downLink) = links
    }

    /// Drops every datagram both ways from now on: the link died (`mplab fec`'s kill row).
    func kill() {
        upDrops = DropDecider(probability: 1, seed: settings.seed)
        downDrops = DropDecider(probability: 1, seed: settings.seed)
    }

    func start() {
        listenWatcher = IOWatcher(loop: lab.loop, fd: listenSocket.fd) { [unowned self] in drainClients() }
        listenWatcher?.start()
        tickTimer = lab.every(.seconds(1)) { [unowned self] in
            tick += 1
            expireIdleMappings()
            reportLateness()
            onTick?()
        }
    }

    func stop() {
        listenWatcher?.stop()
        tickTimer?.stop()
        reportLateness()
        mappings.values.forEach { $0.watcher?.stop() }
    }

    private func drainClients() {
        for _ in 0..<Self.receivesPerEvent {
            switch listenSocket.receive(into: received) {
            case .received(let count):
                for index in 0..<count {
                    guard let client = received.source(index) else { continue }
                    // Even a datagram about to be dropped shows the client is alive.
                    mapping(for: client)?.lastActiveTick = tick
                    relay(index, direction: .up, client: client)
                }
                sendPending()
                if count < received.capacity { return }
            case .wouldBlock:
                return
            case .failed:
                receiveErrors += 1
            }
        }
    }

    private func drainUpstream(_ mapping: RelayMapping) {
        for _ in 0..<Self.receivesPerEvent {
            switch mapping.socket.receive(into: received) {
            case .received(let count):
                for index in 0..<count { relay(index, direction: .down, client: mapping.client) }
                sendPending()
                if count < received.capacity { return }
            case .wouldBlock:
                return
            case .failed:
                // ECONNREFUSED: the upstream is not listening (yet, or any more). Keep going.
                receiveErrors += 1
            }
        }
    }

    /// Each datagram of slot `index` of the receive batch (one, or a run) that survives
    /// the drop goes on (``forward``).
    private func relay(_ index: Int, direction: RelayDirection, client: SocketAddress) {
        let truncated = received.length(index) >= received.slot(index).count
        received.forEachDatagram(in: index) { datagram in
            let dropped: Bool
            switch direction {
            case .up:
                up.received += 1
                up.bytesReceived += datagram.count
                dropped = truncated || upDrops.shouldDrop() || (settings.up.dropsPayloadFrames && isPayload(datagram))
                if dropped { up.dropped += 1 }
            case .down:
                down.received += 1
                down.bytesReceived += datagram.count
                dropped =
                    truncated || downDrops.shouldDrop() || (settings.down.dropsPayloadFrames && isPayload(datagram))
                if dropped { down.dropped += 1 }
            }
            if !dropped { forward(direction, client: client, bytes: UnsafeRawBufferPointer(datagram)) }
        }
    }

    /// True when `datagram` is a frame carrying a payload (its type byte, outside the seal).
    private func isPayload(_ datagram: UnsafeMutableRawBufferPointer) -> Bool {
        guard datagram.count > FrameLayout.typeOffset else { return false }
        let type = datagram[FrameLayout.typeOffset]
        return type == FrameType.upstreamData.rawValue || type == FrameType.downstreamData.rawValue
    }

    /// Adds a datagram of the receive batch to the batch for its destination; sent by
    /// ``sendPending()`` before the next receive.
    private func queue(_ direction: RelayDirection, client: SocketAddress, bytes: UnsafeRawBufferPointer) {
        switch direction {
        case .up:
            // The mapping can be missing when it could not be made.
            guard let mapping = mappings[client] else {
                count(.up, sent: false)
                return
            }
            if pendingUpstream !== mapping || upstreamBatch.isFull { sendPending() }
            pendingUpstream = mapping
            upstreamBatch.append(datagram: bytes, to: nil)
        case .down:
            if downstreamBatch.isFull { sendPending() }
            downstreamBatch.append(datagram: bytes, to: client)
        }
    }

    /// Sends the queued datagrams, each batch in as few calls as the kernel allows.
    private func sendPending() {
        if let pendingUpstream, upstreamBatch.count > 0 {
            pendingUpstream.socket.send(upstreamBatch) { _, sent in count(.up, sent: sent) }
        }
        upstreamBatch.removeAll()
        pendingUpstream = nil
        if downstreamBatch.count > 0 {
            listenSocket.send(downstreamBatch) { _, sent in count(.down, sent: sent) }
            downstreamBatch.removeAll()
        }
    }

    /// A datagram of the receive batch that survived the drop: through the rate limit's
    /// queue if there is one, then on (``propagate``); with neither limit nor delay, into the
    /// batch for its destination (``queue``).
    private func forward(_ direction: RelayDirection, client: SocketAddress, bytes: UnsafeRawBufferPointer) {
        guard let link = direction == .up ? upLink : downLink else {
            if (direction == .up ? upDelay : downDelay) == nil {
                queue(direction, client: client, bytes: bytes)
            } else {
                propagate(direction, client: client, bytes: bytes)
            }
            return
        }
        if !link.push(direction, client: client, bytes: bytes) {
            switch direction {
            case .up: up.overflowed += 1
            case .down: down.overflowed += 1
            }
        }
    }

    /// Sends now, or after the fixed delay when there is one.
    private func propagate(_ direction: RelayDirection, client: SocketAddress, bytes: UnsafeRawBufferPointer) {
        let (delayQueue, delay) = direction == .up ? (upDelay, settings.up.delay) : (downDelay, settings.down.delay)
        guard let delayQueue else {
            deliver(direction, client: client, bytes: bytes)
            return
        }
        let now = MonotonicClock.now()
        if !delayQueue.push(direction, client: client, bytes: bytes, due: now + delay, now: now) {
            count(direction, sent: false)
        }
    }

    private func deliver(_ direction: RelayDirection, client: SocketAddress, bytes: UnsafeRawBufferPointer) {
        let result: UDPSocket.SendResult
        switch direction {
        case .up:
            // The mapping can be missing when it expired during the delay, or could not be made.
            result = mappings[client]?.socket.send(bytes) ?? .failed(errno: ENOENT)
        case .down:
            result = listenSocket.send(bytes, to: client)
        }
        count(direction, sent: result == .sent)
    }

    private func count(_ direction: RelayDirection, sent: Bool) {
        switch (direction, sent) {
        case (.up, true): up.forwarded += 1
        case (.up, false): up.failed += 1
        case (.down, true): down.forwarded += 1
        case (.down, false): down.failed += 1
        }
    }
}

extension Relay {
    /// The client's mapping, made on its first datagram; nil when none can be made.
    fileprivate func mapping(for client: SocketAddress) -> RelayMapping? {
        if let existing = mappings[client] { return existing }
        guard mappings.count < Self.maximumMappings,
            let socket = try? UDPSocket(family: settings.target.family),
            (try? socket.connect(to: settings.target)) != nil
        else { return nil }
        socket.setBufferSizes(receive: 4 << 20, send: 4 << 20)
        socket.enableReceiveCoalescing()
        let mapping = RelayMapping(client: client, socket: socket, tick: tick)
        mapping.watcher = IOWatcher(loop: lab.loop, fd: socket.fd) { [unowned self, unowned mapping] in
            drainUpstream(mapping)
        }
        mapping.watcher?.start()
        mappings[client] = mapping
        return mapping
    }

    fileprivate func expireIdleMappings() {
        let idle = mappings.values.filter { tick - $0.lastActiveTick >= settings.idleTimeoutSeconds }
        for mapping in idle {
            mapping.watcher?.stop()
            mappings[mapping.client] = nil
            expiredMappings += 1
        }
    }
}
