// Prometheus text metrics on a loopback TCP port (`metrics-port`, `--metrics-port`): each
// connection's request is read (at most 8 KB), answered with the daemon's counters in the
// text exposition format, and closed. Only 127.0.0.1 is bound, so only local processes (a
// Prometheus agent or node exporter on the same host, an SSH tunnel) can read the numbers.
// The request is read only to find its method and path; nothing else in it is used.
import Glibc
import Logging
import MPCore

/// A listening TCP socket on 127.0.0.1 that answers `GET /metrics` (or `GET /`) with
/// `render()`. Not thread-safe: use it from the event loop's thread.
public final class MetricsEndpoint {
    /// Requests in progress at once; a connection past this is closed unanswered.
    static let maximumRequests = 8
    /// A request not complete, or a reply not taken, within this long is abandoned.
    static let requestLifetime = TimeSpan.seconds(5)
    /// The longest request read; a longer one is answered 431.
    static let maximumRequestSize = 8192

    /// The bound address (with the port the kernel chose when asked for port 0).
    public let address: SocketAddress
    private var listener: ConnectionListener?

    /// Binds 127.0.0.1:`port` and starts answering on `loop`.
    /// - Throws: ``SystemError`` naming the call that failed (`bind`: the port is taken).
    public init(port: UInt16, loop: EventLoop, render: @escaping () -> String) throws(SystemError) {
        let listening = try checkedSystemCall("socket") {
            socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(SystemError) {
            var yes: Int32 = 1
            _ = setsockopt(listening, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            let wanted = SocketAddress.loopbackIPv4(port: port)
            _ = try checkedSystemCall("bind") { wanted.withSockAddr { bind(listening, $0, $1) } }
            _ = try checkedSystemCall("listen") { Glibc.listen(listening, 16) }
            address = try localAddress(of: listening)
        } catch {
            _ = close(listening)
            throw error
        }
        listener = ConnectionListener(
            fd: listening, loop: loop, limit: Self.maximumRequests, lifetime: Self.requestLifetime
        ) { connection, now in
            MetricsRequest(fd: connection, now: now, loop: loop, render: render)
        }
    }
}

/// One connection: its request is read until the blank line that ends the headers, then
/// answered (through a ``ControlReply``) and closed.
final class MetricsRequest: ListenerConnection {
    let fd: Int32
    let startedAt: Timestamp
    let render: () -> String
    private var received: [UInt8] = []
    private var watcher: IOWatcher?
    private var reply: ControlReply?
    private let loop: EventLoop

    init(fd: Int32, now: Timestamp, loop: EventLoop, render: @escaping () -> String) {
        self.fd = fd
        self.startedAt = now
        self.loop = loop
        self.render = render
        let watcher = IOWatcher(loop: loop, fd: fd) { [unowned self] in readAvailable() }
        watcher.start()
        self.watcher = watcher
        readAvailable()
    }

    deinit {
        watcher?.stop()
        if reply == nil { _ = close(fd) }
    }

    /// True once the reply is written (or the connection was given up).
    var isFinished: Bool { reply?.isFinished ?? false }

    private func readAvailable() {
        guard reply == nil else { return }
        var chunk = [UInt8](repeating: 0, count: 2048)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += chunk[0..<count]
                if let response = MetricsResponse.answer(to: received, render: render) {
                    respond(response)
                    return
                }
                if received.count > MetricsEndpoint.maximumRequestSize {
                    respond(MetricsResponse.status(431, "Request Header Fields Too Large"))
                    return
                }
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

    private func respond(_ text: String?) {
        watcher?.stop()
        watcher = nil
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
        guard let port else { return nil }
        do {
            let endpoint = try MetricsEndpoint(port: port, loop: loop, render: render)
            logger.info("serving Prometheus metrics", metadata: ["metrics": "http://\(endpoint.address)/metrics"])
            return endpoint
        } catch {
            throw MetricsPortError(port: port, error: error)
        }
    }
}

/// The HTTP side, apart from sockets so it can be tested alone.
enum MetricsResponse {
    /// The response to `request` once its headers are complete (a blank line), else nil:
    /// 200 with the metrics for `GET /metrics` and `GET /` (`HEAD` without the body), 404
    /// for another path, 405 for another method, 400 when the request line is malformed.
    static func answer(to request: [UInt8], render: () -> String) -> String? {
        guard let end = headerEnd(request) else { return nil }
        let head = String(decoding: request[0..<end], as: UTF8.self)
        let requestLine = head.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? head
        let words = requestLine.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 3, words[2].hasPrefix("HTTP/") else { return status(400, "Bad Request") }
        guard words[0] == "GET" || words[0] == "HEAD" else { return status(405, "Method Not Allowed") }
        let path = words[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" || path == "/" else { return status(404, "Not Found") }
        let body = render()
        let header =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        return words[0] == "HEAD" ? header : header + body
    }

    /// A response with only a status line and a one-line body.
    static func status(_ code: Int, _ reason: String) -> String {
        let body = "\(code) \(reason)\n"
        return "HTTP/1.1 \(code) \(reason)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
    }

    /// Where the headers end (the index of the blank line's first byte), if they do.
    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        // A bare-LF client (curl never, netcat by hand may): accept "\n\n" too.
        for index in 0...(bytes.count - 2) where bytes[index] == 10 && bytes[index + 1] == 10 { return index }
        return nil
    }
}

/// Prometheus's text exposition format (version 0.0.4): per metric a HELP and a TYPE line,
/// then its samples with labels.
struct PrometheusText {
    private(set) var text = ""

    /// Starts metric `name` (its samples follow with ``sample(_:_:labels:)``).
    mutating func metric(_ name: String, _ type: String, help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    /// One sample of `name` with `labels` (values escaped as the format asks).
    mutating func sample(_ name: String, _ value: Double, labels: KeyValuePairs<String, String> = [:]) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.key)=\"\(Self.escaped($0.value))\"" }.joined(separator: ",") + "}"
        }
        text += " \(Self.number(value))\n"
    }

    /// `value` as the format writes numbers: integers without a fraction.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return "\(Int64(value))" }
        return "\(value)"
    }

    /// A label value with backslash, double quote and newline escaped.
    static func escaped(_ value: String) -> String {
        var result = ""
        for character in value {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result
    }
}
