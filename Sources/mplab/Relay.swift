// A dumb lossy UDP relay, like `socat udp-listen:4000,fork udp4:HOST:PORT` with loss: every
// client address gets its own upstream socket (a mapping), so a restarted client on a new
// port gets a fresh mapping and replies go back to whoever sent them. Each direction drops
// datagrams with its own seeded generator and may hold them for a fixed delay.
import Glibc
import MPCore
import MPRuntime

/// Which way a datagram travels through the relay.
enum RelayDirection {
    /// Client to upstream (towards mpserver).
    case up
    /// Upstream to client.
    case down
}

/// What happened to the datagrams of one direction.
struct DirectionCounters {
    var received = 0
    var forwarded = 0
    var dropped = 0
    /// Not sent: send buffer full, ECONNREFUSED, no mapping, delay queue full.
    var failed = 0

    static func - (lhs: DirectionCounters, rhs: DirectionCounters) -> DirectionCounters {
        DirectionCounters(
            received: lhs.received - rhs.received, forwarded: lhs.forwarded - rhs.forwarded,
            dropped: lhs.dropped - rhs.dropped, failed: lhs.failed - rhs.failed)
    }

    var json: JSONValue {
        .object([
            ("received", .integer(received)), ("forwarded", .integer(forwarded)),
            ("dropped", .integer(dropped)), ("failed", .integer(failed)),
        ])
    }
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

struct RelaySettings {
    var listen: SocketAddress
    var target: SocketAddress
    var dropProbability: Double
    var delay: TimeSpan
    var seed: UInt64
    var idleTimeoutSeconds: UInt64
}

final class Relay {
    /// 1,024 clients: far more than a lab run has; bounds descriptors if something sprays.
    static let maximumMappings = 1_024
    /// Datagrams handled per readiness event before the loop serves other sockets.
    static let batchLimit = 64

    let settings: RelaySettings
    let listenAddress: SocketAddress
    private(set) var up = DirectionCounters()
    private(set) var down = DirectionCounters()
    /// Receive errors such as ECONNREFUSED after the upstream went away: counted, ignored.
    private(set) var receiveErrors = 0
    private(set) var expiredMappings = 0
    private var mappings: [SocketAddress: RelayMapping] = [:]
    private var upDrops: DropDecider
    private var downDrops: DropDecider
    private let lab: LabLoop
    private let listenSocket: UDPSocket
    /// One receive buffer for every socket: larger than any UDP datagram, so nothing is cut.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    private var delayQueue: RelayDelayQueue?
    private var listenWatcher: IOWatcher?
    private var tickTimer: TimerWatcher?
    private var tick: UInt64 = 0
    /// Called every second, after expiry: the command writes its stats file here.
    var onTick: (() -> Void)?

    init(settings: RelaySettings, lab: LabLoop) throws {
        self.settings = settings
        self.lab = lab
        listenSocket = try UDPSocket(bindingTo: settings.listen)
        listenSocket.setBufferSizes(receive: 4 << 20, send: 4 << 20)
        listenAddress = try listenSocket.localAddress
        upDrops = DropDecider(probability: settings.dropProbability, seed: settings.seed)
        // A different stream for replies, so the two directions drop independently.
        var seeds = SplitMix64(seed: settings.seed)
        downDrops = DropDecider(probability: settings.dropProbability, seed: seeds.next())
        if settings.delay.nanoseconds > 0 {
            delayQueue = RelayDelayQueue(loop: lab.loop, delay: settings.delay) { [unowned self] in
                deliver($0, client: $1, bytes: $2)
            }
        }
    }

    deinit {
        buffer.deallocate()
    }

    var mappingCount: Int { mappings.count }

    func start() {
        listenWatcher = IOWatcher(loop: lab.loop, fd: listenSocket.fd) { [unowned self] in drainClients() }
        listenWatcher?.start()
        tickTimer = lab.every(.seconds(1)) { [unowned self] in
            tick += 1
            expireIdleMappings()
            onTick?()
        }
    }

    func stop() {
        listenWatcher?.stop()
        tickTimer?.stop()
        mappings.values.forEach { $0.watcher?.stop() }
    }

    private func drainClients() {
        for _ in 0..<Self.batchLimit {
            switch listenSocket.receive(into: buffer) {
            case .datagram(let length, let client):
                up.received += 1
                // Even a datagram about to be dropped shows the client is alive.
                mapping(for: client)?.lastActiveTick = tick
                guard length <= buffer.count, !upDrops.shouldDrop() else {
                    up.dropped += 1
                    continue
                }
                forward(.up, client: client, length: length)
            case .wouldBlock:
                return
            case .failed:
                receiveErrors += 1
            }
        }
    }

    private func drainUpstream(_ mapping: RelayMapping) {
        for _ in 0..<Self.batchLimit {
            switch mapping.socket.receive(into: buffer) {
            case .datagram(let length, _):
                down.received += 1
                guard length <= buffer.count, !downDrops.shouldDrop() else {
                    down.dropped += 1
                    continue
                }
                forward(.down, client: mapping.client, length: length)
            case .wouldBlock:
                return
            case .failed:
                // ECONNREFUSED: the upstream is not listening (yet, or any more). Keep going.
                receiveErrors += 1
            }
        }
    }

    private func forward(_ direction: RelayDirection, client: SocketAddress, length: Int) {
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
        if let delayQueue {
            guard delayQueue.push(direction, client: client, bytes: bytes) else {
                count(direction, sent: false)
                return
            }
        } else {
            deliver(direction, client: client, bytes: bytes)
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

    /// `{"up":{...},"down":{...},"mappings":N,"expired":N,"receiveErrors":N}`.
    var statisticsJSON: JSONValue {
        .object([
            ("listen", .string(listenAddress.description)), ("up", up.json), ("down", down.json),
            ("mappings", .integer(mappings.count)), ("expired", .integer(expiredMappings)),
            ("receiveErrors", .integer(receiveErrors)),
        ])
    }

    /// One line for the end of a run.
    var summary: String {
        "relay \(listenAddress) -> \(settings.target): "
            + "up received \(up.received) forwarded \(up.forwarded) dropped \(up.dropped) failed \(up.failed); "
            + "down received \(down.received) forwarded \(down.forwarded) dropped \(down.dropped) "
            + "failed \(down.failed); mappings \(mappings.count) (\(expiredMappings) expired), "
            + "receive errors \(receiveErrors)"
    }
}
