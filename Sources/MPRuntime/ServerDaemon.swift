// mpserver at run time: one libev loop on one thread. The listen socket's watcher takes
// frames from every bridge; the engine judges them by session; the first copy of each
// payload goes to the target on the socket of its flow. Each flow socket's watcher takes
// the target's replies, which the engine frames once and the daemon sends on the paths the
// session's mirror picks (rule R21: every data path while mpclient duplicates, the one where
// the reply arrives first while it balances), each to the address the path's probes gave it.
import Logging
import MPCore

/// What mpserver listens on and forwards to.
public struct ServerSettings: Sendable {
    /// The UDP port bridges and mpclients send to.
    public var listenPort: UInt16
    /// The address to bind; `::` (every IPv6 and IPv4 address) by default.
    public var listenHost: String
    /// The target: host name or address, and port.
    public var target: Endpoint
    /// How each session's payloads are put back in order before the target.
    public var reorderWindow: ReorderWindow

    public init(listenPort: UInt16, listenHost: String = "::", target: Endpoint, reorderWindow: ReorderWindow = .off) {
        self.listenPort = listenPort
        self.listenHost = listenHost
        self.target = target
        self.reorderWindow = reorderWindow
    }
}

/// The socket one flow of one session uses to talk to the target.
final class TargetFlow {
    let key: FlowKey
    unowned let session: ServerSession<SocketAddress>
    let socket: UDPSocket
    var watcher: IOWatcher?
    var lastActivity: Timestamp

    init(key: FlowKey, session: ServerSession<SocketAddress>, target: SocketAddress, now: Timestamp) throws {
        self.key = key
        self.session = session
        self.socket = try UDPSocket(family: target.family)
        try socket.connect(to: target)
        // 4 MB each way, as the paths' sockets (the default is about 200 KB, some 270 small
        // datagrams): the target's replies to a burst survive a pause of the loop, and a target
        // that answers a burst at once (in one offloaded send, say) is not cut off after 1 MB.
        // Memory is taken only while datagrams wait, so 16,384 idle flows cost nothing.
        socket.setBufferSizes(receive: DataPath.socketBufferSize, send: DataPath.socketBufferSize)
        // A target that answers with an offloaded send (wireguard-go, the lab's echo) has
        // its runs delivered whole rather than cut into datagrams on the way in.
        socket.enableReceiveCoalescing()
        self.lastActivity = now
    }
}

/// A flow's identity at mpserver: the session and the flow id mpclient gave it.
struct FlowKey: Hashable {
    var sessionID: UInt64
    var flowID: UInt32
}

/// The mpserver daemon. Create it, then call ``run()``; it returns after SIGINT or SIGTERM.
public final class ServerDaemon {
    let loop: EventLoop
    let logger: Logger
    let settings: ServerSettings
    let engine: ServerEngine<SocketAddress>
    let listenSocket: UDPSocket
    let target: SocketAddress
    /// Frames from the paths, a batch per receive.
    let frames = ReceiveBatch(capacity: DataPath.batchSize)
    /// The target's replies, a batch per receive, framed where they lie.
    let payloads = ReceiveBatch(capacity: DataPath.batchSize, slotSize: ReceiveBatch.payloadRunSlotSize)
    /// Framed replies for the paths, sent in one call.
    let replies: SendBatch
    /// Payloads for the target from the frames of one receive, all of one flow
    /// (``pendingFlow``), sent in one call.
    let toTarget = SendBatch(capacity: 1_024, family: .ipv4)
    var pendingFlow: TargetFlow?
    /// Answers to probes and hellos.
    let reply = FrameBuffer()
    /// Mirrored `mode fec`: the reply parity frames, written and sent one at a time.
    let parityFrame = FrameBuffer()
    /// Mirrored `mode fec`: parity frames sent with the batch of replies they follow.
    let parityFrames = ParitySlab()
    var flows: [FlowKey: TargetFlow] = [:]
    var flowCounts: [UInt64: Int] = [:]
    var random = SystemRandomNumberGenerator()
    var dropLog: DropLog
    var watchers: [AnyObject] = []
    /// Fires when the first payload a reorder buffer holds is due; `nil` when they are off.
    var reorderDrain: TimerWatcher?
    /// Mirrored `mode fec`: fires at the earliest `fec-timeout` of the sessions whose reply
    /// group waits (``parityWaiting``), for their parity.
    var parityTimer: TimerWatcher?
    var parityWaiting: [ServerSession<SocketAddress>] = []
    /// The sessions the parity timer serves now: swapped with ``parityWaiting``, so that
    /// neither array is copied (a copy, then emptying the original, allocated twice per
    /// firing: up to 390 allocations in 10,000 fec round trips on a loaded machine).
    var parityFiring: [ServerSession<SocketAddress>] = []
    var parityDeadline: Timestamp?
    /// Mirrored `mode fec`: fires when the first upstream group waiting to be rebuilt is due.
    var rebuildTimer: DeadlineTimer?
    var counters = ServerCounters()
    /// Answers `mpserver --status`; `nil` when there is none.
    var controlSocket: ControlSocket?
    /// Serves Prometheus metrics; `nil` when none were asked for.
    var metrics: MetricsEndpoint?

    /// Resolves the target and binds the listen port; frames are sealed with `keyring`
    /// (keyless by default); answers `--status` on `statusSocket` (none by default) and
    /// serves metrics on 127.0.0.1:`metricsPort` (none by default). Throws with a message
    /// naming the address (or control socket, or metrics port) that failed.
    public init(
        settings: ServerSettings, loop: EventLoop, logger: Logger, keyring: Keyring = .keyless,
        statusSocket: StatusSocketSetting? = nil, metricsPort: UInt16? = nil
    ) throws {
        self.engine = ServerEngine(keyring: keyring, reorderWindow: settings.reorderWindow)
        self.loop = loop
        self.logger = logger
        self.settings = settings
        self.dropLog = DropLog(logger: logger)
        target = try DataPath.address(of: settings.target)
        listenSocket = try Self.bindListenSocket(settings)
        listenSocket.setBufferSizes(receive: DataPath.socketBufferSize, send: DataPath.socketBufferSize)
        // A path's frames may arrive as runs (GSO at mpclient or a bridge, GRO here).
        listenSocket.enableReceiveCoalescing()
        replies = SendBatch(capacity: DataPath.batchSize * 4, family: listenSocket.family)
        controlSocket = try ControlSocket.open(statusSocket, loop: loop, logger: logger) { [unowned self] in
            statusSlices()
        }
        metrics = try MetricsEndpoint.open(port: metricsPort, loop: loop, logger: logger) { [unowned self] in
            metricsSlices()
        }
    }

    /// The address the listen socket is bound to (useful with port 0).
    public var listenAddress: SocketAddress {
        get throws { try listenSocket.localAddress }
    }

    /// Binds `::` (IPv6 and IPv4) by default; falls back to 0.0.0.0 on a host without IPv6.
    static func bindListenSocket(_ settings: ServerSettings) throws -> UDPSocket {
        guard let address = SocketAddress(ipAddress: settings.listenHost, port: settings.listenPort) else {
            return try UDPSocket(
                bindingTo: DataPath.address(of: Endpoint(host: settings.listenHost, port: settings.listenPort)))
        }
        do {
            return try UDPSocket(bindingTo: address)
        } catch let error as SystemError where settings.listenHost == "::" && error.call == "socket" {
            return try UDPSocket(bindingTo: SocketAddress(ipAddress: "0.0.0.0", port: settings.listenPort)!)
        }
    }
}

/// What mpserver counts beyond the engine's drops.
struct ServerCounters {
    var targetSendFailures = 0
    var pathSendFailures = 0
    var flowsRefused = 0
    var flowsCreated = 0
    /// A session's idle flows closed to make room for a new flow id of the same session.
    var flowsReclaimed = 0
    /// Receives from the target that held a coalesced run.
    var targetRuns = 0
}
