// Prometheus text metrics on a loopback TCP port (`metrics-port`, `--metrics-port`): each
// connection's request is read, answered with the daemon's counters in the text exposition
// format, and closed. Only 127.0.0.1 is bound, so only local processes (a Prometheus agent
// or node exporter on the same host, an SSH tunnel) can read the numbers. The request is
// read only to find its method and path; nothing else in it is used.
//
// A local peer must not be able to buy the loop's time with it: the request goes into one
// buffer of at most 8 KB allocated with the connection, each byte is scanned once, a
// connection that trickles its request is read at most every 10 ms, and at most 8
// connections live at once, none longer than 5 s from its accept (see ``Defaults``).
import Glibc
import Logging
import MPCore

/// A listening TCP socket on 127.0.0.1 that answers `GET /metrics` (or `GET /`) with
/// `render()`. Not thread-safe: use it from the event loop's thread.
public final class MetricsEndpoint {
    /// Receive buffer of each connection, in bytes (the kernel doubles it for its overhead):
    /// 4 KB holds any scraper's request, and no more than a few segments of a trickle.
    static let connectionReceiveBuffer = 4_096

    /// The bound address (with the port the kernel chose when asked for port 0).
    public let address: SocketAddress
    private var listener: ConnectionListener?

    /// Binds 127.0.0.1:`port` and starts answering on `loop`.
    /// - Throws: ``SystemError`` naming the call that failed (`bind`: the port is taken).
    /// With a `logger`, each answer is logged at debug level with its size and how long it
    /// held the loop (rendering and the first write).
    public convenience init(
        port: UInt16, loop: EventLoop, logger: Logger? = nil, render: @escaping () -> String
    ) throws(SystemError) {
        try self.init(port: port, loop: loop, logger: logger, slices: { { render() } })
    }

    /// Binds 127.0.0.1:`port` and answers on `loop` with a page made a slice at a time:
    /// `slices()` is called once per request and gives a function that does one slice of
    /// the work per call, returning nil until it returns the page. Each call runs in its own
    /// turn of the loop, so the datagrams waiting meanwhile are served between slices.
    /// - Throws: ``SystemError`` naming the call that failed (`bind`: the port is taken).
    init(
        port: UInt16, loop: EventLoop, logger: Logger? = nil, slices: @escaping () -> () -> String?
    ) throws(SystemError) {
        let listening = try checkedSystemCall("socket") {
            socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(SystemError) {
            var yes: Int32 = 1
            _ = setsockopt(listening, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            // A small receive buffer, inherited by every connection (and set before listen, so
            // the window offered in the handshake is small): a request is a few hundred bytes,
            // and a peer that sends a byte per segment can queue only a few segments; the
            // kernel's work on each one would otherwise fall on mpserver's thread.
            var receiveBuffer = Int32(Self.connectionReceiveBuffer)
            _ = setsockopt(
                listening, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size))
            let wanted = SocketAddress.loopbackIPv4(port: port)
            _ = try checkedSystemCall("bind") { wanted.withSockAddr { bind(listening, $0, $1) } }
            _ = try checkedSystemCall("listen") { Glibc.listen(listening, 16) }
            address = try localAddress(of: listening)
        } catch {
            _ = close(listening)
            throw error
        }
        listener = ConnectionListener(
            fd: listening, loop: loop, limit: Defaults.maximumControlConnections,
            lifetime: Defaults.controlConnectionLifetime
        ) { connection, now in
            MetricsRequest(fd: connection, now: now, loop: loop, logger: logger, slices: slices)
        }
    }
}

/// One connection: its request is read until the blank line that ends the headers, then
/// answered (through a ``ControlReply``) and closed.
final class MetricsRequest: ListenerConnection {
    let fd: Int32
    let startedAt: Timestamp
    let slices: () -> () -> String?
    let logger: Logger?
    /// Makes the page, one slice per turn of the loop; nil until the request is whole.
    private var rendering: SliceRunner?
    /// The request so far: ``Defaults/maximumMetricsRequestSize`` bytes, allocated once.
    private let buffer: UnsafeMutableRawBufferPointer
    private var received = 0
    private var scanner = RequestHeadScanner()
    private var watcher: IOWatcher?
    private var pause: TimerWatcher?
    private var reply: ControlReply?
    private let loop: EventLoop

    init(fd: Int32, now: Timestamp, loop: EventLoop, logger: Logger?, slices: @escaping () -> () -> String?) {
        self.fd = fd
        self.startedAt = now
        self.loop = loop
        self.slices = slices
        self.logger = logger
        buffer = .allocate(byteCount: Defaults.maximumMetricsRequestSize, alignment: 1)
        let watcher = IOWatcher(loop: loop, fd: fd) { [unowned self] in readAvailable() }
        self.watcher = watcher
        // After a pause only the watcher restarts: it fires at once if bytes came meanwhile,
        // and a peer that went quiet costs nothing more until its deadline.
        pause = TimerWatcher(loop: loop, interval: Defaults.metricsReadPause, repeating: false) { [unowned self] in
            self.watcher?.start()
        }
        watcher.start()
        readAvailable()
    }

    deinit {
        watcher?.stop()
        pause?.stop()
        buffer.deallocate()
        if reply == nil { _ = close(fd) }
    }

    /// True once the reply is written (or the connection was given up).
    var isFinished: Bool { reply?.isFinished ?? false }

    /// Reads the request. One that is not whole after a read is being trickled (scrapers send
    /// theirs in one piece, which one read takes whole): from then on the connection is read
    /// ``Defaults/metricsTrickleReadSize`` bytes at a time, at most every
    /// ``Defaults/metricsReadPause``. The kernel's work for each segment of a trickle falls on
    /// whoever opens the window by reading, so mpserver reads it slowly.
    private func readAvailable() {
        guard reply == nil, rendering == nil else { return }
        while true {
            guard received < buffer.count else {
                respond(MetricsResponse.status(431, "Request Header Fields Too Large"))
                return
            }
            let room = buffer.count - received
            let count = recv(
                fd, buffer.baseAddress.map { $0 + received },
                received > 0 ? min(room, Defaults.metricsTrickleReadSize) : room, 0)
            if count > 0 {
                received += count
                if let headLength = scanner.scan(UnsafeRawBufferPointer(rebasing: buffer[..<received])) {
                    answer(head: UnsafeRawBufferPointer(rebasing: buffer[..<headLength]))
                } else {
                    pauseReading()
                }
                return
            } else if count < 0 && errno == EINTR {
                continue
            } else if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else {
                // The peer closed (or failed) before a whole request: nothing to answer.
                respond(nil)
                return
            }
        }
    }

    /// Answers an error at once; a page is made a slice per turn of the loop, then answered
    /// (and logged with its size and the longest slice, in time and in CPU time).
    private func answer(head: UnsafeRawBufferPointer) {
        switch MetricsResponse.route(head: head) {
        case .error(let text):
            respond(text)
        case .page(let isHead):
            watcher?.stop()
            pause?.stop()
            rendering = SliceRunner(loop: loop, slice: slices()) { [unowned self] runner, page in
                respond(MetricsResponse.page(body: page, isHead: isHead))
                logger?.debug(
                    "metrics request answered",
                    metadata: [
                        "bytes": "\(page.utf8.count)",
                        "held-microseconds": "\(runner.longest.nanoseconds / 1_000)",
                        "cpu-microseconds": "\(runner.longestCPU.nanoseconds / 1_000)",
                    ])
            }
        }
    }

    private func pauseReading() {
        watcher?.stop()
        pause?.start()
    }

    private func respond(_ text: String?) {
        watcher?.stop()
        watcher = nil
        pause?.stop()
        let reply = ControlReply(fd: fd, text: text ?? "", now: startedAt)
        self.reply = reply
        if !reply.writeAvailable() { reply.watch(on: loop) }
    }
}

/// Metrics asked for on a port that cannot be bound: says which and why.
public struct MetricsPortError: Error, CustomStringConvertible {
    public let port: UInt16
    public let error: SystemError
    public var description: String { "metrics port 127.0.0.1:\(port): \(error)" }
}

extension MetricsEndpoint {
    /// The endpoint `port` asks for, or `nil` when none is asked; logs where it answers.
    /// - Throws: ``MetricsPortError`` when the port cannot be bound (the user asked for it).
    static func open(
        port: UInt16?, loop: EventLoop, logger: Logger, render: @escaping () -> String
    ) throws(MetricsPortError) -> MetricsEndpoint? {
        try open(port: port, loop: loop, logger: logger, slices: { { render() } })
    }

    /// The endpoint `port` asks for, answering with pages made a slice at a time (see
    /// ``init(port:loop:logger:slices:)``), or `nil` when none is asked; logs where it answers.
    /// - Throws: ``MetricsPortError`` when the port cannot be bound (the user asked for it).
    static func open(
        port: UInt16?, loop: EventLoop, logger: Logger, slices: @escaping () -> () -> String?
    ) throws(MetricsPortError) -> MetricsEndpoint? {
        guard let port else { return nil }
        do {
            let endpoint = try MetricsEndpoint(port: port, loop: loop, logger: logger, slices: slices)
            logger.info("serving Prometheus metrics", metadata: ["metrics": "http://\(endpoint.address)/metrics"])
            return endpoint
        } catch {
            throw MetricsPortError(port: port, error: error)
        }
    }
}
