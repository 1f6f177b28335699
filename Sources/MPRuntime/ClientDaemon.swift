// mpclient at run time: one libev loop on one thread. The listen socket's watcher takes
// application payloads, the session frames them once, and the same bytes go out on the
// paths its scheduler picks (every up path in duplicate mode, one in balance mode); each path socket's watcher takes frames from mpserver and hands the first
// copy of each payload back to the application address that owns its flow.
import Logging
import MPCore

/// One path: a connected socket towards a bridge (or mpserver itself). The socket and the
/// address change when a silent path is reopened (``ClientDaemon/reopen(_:at:)``).
final class ClientPath {
    let index: Int
    let endpoint: Endpoint
    private(set) var address: SocketAddress
    private(set) var socket: UDPSocket
    var watcher: IOWatcher?
    var framesSent = 0
    var sendFailures = 0
    /// Times the path got a new socket.
    var reopenings = 0

    init(index: Int, endpoint: Endpoint, address: SocketAddress) throws {
        self.index = index
        self.endpoint = endpoint
        self.address = address
        self.socket = try Self.connectedSocket(to: address)
    }

    /// A new socket (so a new source port) connected to `address`, replacing the old one.
    func replaceSocket(connectingTo address: SocketAddress) throws {
        socket = try Self.connectedSocket(to: address)
        self.address = address
        reopenings += 1
    }

    static func connectedSocket(to address: SocketAddress) throws -> UDPSocket {
        let socket = try UDPSocket(family: address.family)
        try socket.connect(to: address)
        socket.setBufferSizes(receive: DataPath.socketBufferSize, send: DataPath.socketBufferSize)
        // mpserver's replies to this path may arrive as runs (GSO at mpserver, GRO here).
        socket.enableReceiveCoalescing()
        return socket
    }
}

/// A frame made from an application payload, where it lies in the batch of payloads, and
/// the paths it goes on.
struct ScheduledFrame {
    let bytes: UnsafeRawBufferPointer
    let paths: PathSet
    /// The path that gets `fastestCopies` copies instead of one; -1 for none.
    let fastestPath: Int
    let fastestCopies: Int
    /// `mode fec`'s parity, which may go ahead of the payload frames before it on its path
    /// (``SendBatch/append(_:path:to:leads:)``).
    var isParity = false
}

/// The mpclient daemon. Create it, then call ``run()``; it returns after SIGINT or SIGTERM.
public final class ClientDaemon {
    /// How often the timer checks probes, path health and expiry: a tenth of the default probe
    /// interval, so a path is reported down at most 0.1 s after its silence limit.
    static let tickInterval = TimeSpan.milliseconds(100)

    let loop: EventLoop
    let logger: Logger
    let session: ClientSession<SocketAddress>
    let listenSocket: UDPSocket
    let paths: [ClientPath]
    /// Probes, and frames held until the session is accepted.
    let outbound = FrameBuffer()
    /// `mode fec`: parity frames sent with the batch of payloads they follow.
    let parityFrames = ParitySlab()
    /// The application's payloads, a batch per receive, framed where they lie; a run of
    /// them (an application's offloaded send) is spread apart in its slot first.
    let payloads = ReceiveBatch(capacity: DataPath.batchSize, slotSize: ReceiveBatch.payloadRunSlotSize)
    /// The frames made from one receive of payloads, each where it lies with the paths the
    /// scheduler picked for it. Its capacity is reserved once: a batch of runs fits.
    var scheduled: [ScheduledFrame] = []
    /// Frames for one path, sent in one call: two runs of offloaded datagrams.
    let outgoing = SendBatch(capacity: 2 * SegmentPlan.maximumSegments, family: .ipv4)
    /// Frames from mpserver, a batch per receive (one path's socket at a time).
    let frames = ReceiveBatch(capacity: DataPath.batchSize)
    /// Payloads for the application from the frames of one receive, sent in one call.
    let toApplication: SendBatch
    var dropLog: DropLog
    var watchers: [AnyObject] = []
    /// Fires when the reorder buffer's first held payload is due; `nil` when it is off.
    var reorderDrain: TimerWatcher?
    /// `mode fec`: fires when the open group's `fec-timeout` ends, for its parity.
    var parityTimer: TimerWatcher?
    var parityDeadline: Timestamp?
    /// `mode fec`: fires when the first downstream group waiting to be rebuilt is due.
    var rebuildTimer: DeadlineTimer?
    /// Parity frames that could not be sent (their path's send failed).
    var paritySendFailures = 0
    var applicationSendFailures = 0
    /// Receives from the application that held a coalesced run.
    var applicationRuns = 0
    /// Says when mpserver stops answering on every path, and when it answers again.
    var replyMonitor: ReplyMonitor
    /// Answers `mpclient --status`; `nil` when there is none.
    var controlSocket: ControlSocket?
    /// Serves Prometheus metrics; `nil` when none were asked for.
    var metrics: MetricsEndpoint?
    /// Says when a silent path gets a new socket and a new lookup of its host.
    var recovery: PathRecovery
    /// Looks host names up again off the loop's thread; made at start.
    var resolver: BackgroundResolver?

    /// Binds the listen address and connects one socket per path of `configuration`; frames
    /// are sealed with `keyring` (keyless by default); answers `--status` on `statusSocket`
    /// (none by default) and serves metrics on 127.0.0.1:`metricsPort` (none by default).
    /// Throws when an address cannot be resolved or bound, or a required control socket or
    /// the metrics port cannot be opened; the message names it.
    public init(
        configuration: ClientConfiguration, loop: EventLoop, logger: Logger, keyring: Keyring = .keyless,
        statusSocket: StatusSocketSetting? = nil, metricsPort: UInt16? = nil
    ) throws {
        self.loop = loop
        self.logger = logger
        self.dropLog = DropLog(logger: logger)
        let listenAddress = try DataPath.address(of: configuration.listen)
        listenSocket = try UDPSocket(bindingTo: listenAddress)
        listenSocket.setBufferSizes(receive: DataPath.socketBufferSize, send: DataPath.socketBufferSize)
        // An application that sends with offload (wireguard-go, say) has its runs
        // delivered whole rather than cut into datagrams on the way in.
        listenSocket.enableReceiveCoalescing()
        scheduled.reserveCapacity(DataPath.batchSize * ReceiveBatch.maximumRunSegments)
        // A receive of runs can deliver up to 64 payloads per slot; more than this go in a
        // second call.
        toApplication = SendBatch(capacity: 1_024, family: listenSocket.family)
        paths = try configuration.paths.enumerated().map { index, path in
            try ClientPath(index: index, endpoint: path.endpoint, address: DataPath.address(of: path.endpoint))
        }
        var random = SystemRandomNumberGenerator()
        let sessionID = keyring.makeSessionID(using: &random)
        session = ClientSession(
            sessionID: sessionID, pathCount: paths.count, probeInterval: configuration.probeInterval, keyring: keyring,
            mode: configuration.mode, backupPaths: configuration.backupPaths,
            reorderWindow: configuration.reorderWindow,
            fastestCopies: configuration.fastestCopies, rateCaps: configuration.rateCaps, fec: configuration.fec
        )
        replyMonitor = ReplyMonitor(now: MonotonicClock.now())
        recovery = PathRecovery(pathCount: paths.count, probeInterval: configuration.probeInterval)
        controlSocket = try ControlSocket.open(statusSocket, loop: loop, logger: logger) { [unowned self] in
            statusText()
        }
        metrics = try MetricsEndpoint.open(port: metricsPort, loop: loop, logger: logger) { [unowned self] in
            metricsText()
        }
    }

    /// The address the listen socket is bound to (useful with port 0).
    public var listenAddress: SocketAddress {
        get throws { try listenSocket.localAddress }
    }
}
