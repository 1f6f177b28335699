// The daemons' control socket: a Unix stream socket on the loop that answers every
// connection with the status table and closes it (`mpclient --status`, `mpserver --status`).
// Nothing a peer sends is read, so nothing is parsed. At most 8 replies are in progress, each
// closed 5 s after its accept if the peer has not taken it (see ``ConnectionListener``), and
// the table itself is bounded (mpserver lists its 64 busiest sessions). The socket file is the owner's only
// (0600); a file left by a daemon that died is replaced, one a live daemon answers on is an
// error, and anything that is not a socket is never touched.
import Glibc
import Logging
import MPCore

/// A listening Unix stream socket that writes `render()` to each connection and closes it.
/// Not thread-safe: use it from the event loop's thread.
public final class ControlSocket {
    /// The socket file's path.
    public let path: String
    let inode: UInt
    private var listener: ConnectionListener?

    /// Binds `path` (creating its folder if it is missing) and starts answering on `loop`
    /// with `render()`.
    /// - Throws: ``ControlSocketError`` naming the path and what is wrong with it.
    public convenience init(path: String, loop: EventLoop, render: @escaping () -> String) throws(ControlSocketError) {
        try self.init(path: path, loop: loop, logger: nil, slices: { { render() } })
    }

    /// Binds `path` and answers on `loop` with a table made a slice per turn of the loop
    /// (see ``SliceRunner``): `slices()` is called once per connection. With a `logger`, each
    /// table's size and its longest slice are logged at debug level.
    /// - Throws: ``ControlSocketError`` naming the path and what is wrong with it.
    init(
        path: String, loop: EventLoop, logger: Logger?, slices: @escaping () -> () -> String?
    ) throws(ControlSocketError) {
        self.path = path
        let address = try UnixAddress(path: path)
        try Self.removeStaleSocket(at: address)
        Self.createFolder(of: path)
        let listening = try ControlSocketError.call(path, "socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(ControlSocketError) {
            _ = try ControlSocketError.call(path, "bind") { address.withSockAddr { bind(listening, $0, $1) } }
            _ = chmod(path, 0o600)
            _ = try ControlSocketError.call(path, "listen") { listen(listening, 16) }
        } catch {
            _ = close(listening)
            throw error
        }
        var status = stat()
        inode = lstat(path, &status) == 0 ? UInt(status.st_ino) : 0
        listener = ConnectionListener(
            fd: listening, loop: loop, limit: Defaults.maximumControlConnections,
            lifetime: Defaults.controlConnectionLifetime
        ) { connection, now in
            StatusRequest(fd: connection, now: now, loop: loop, logger: logger, slice: slices())
        }
    }

    deinit {
        listener = nil  // closes the socket and every reply in progress
        // Only the file this daemon made: a newer daemon may have replaced it already.
        var status = stat()
        if lstat(path, &status) == 0, UInt(status.st_ino) == inode { _ = unlink(path) }
    }

    /// Fails with `inUse` when a daemon answers at `address`; removes the socket file when
    /// nobody does (left by a daemon that died); fails with `notSocket` for any other file.
    static func removeStaleSocket(at address: UnixAddress) throws(ControlSocketError) {
        var status = stat()
        guard lstat(address.path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw ControlSocketError(path: address.path, problem: .notSocket)
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return }
        defer { _ = close(probe) }
        if address.withSockAddr({ connect(probe, $0, $1) }) == 0 {
            throw ControlSocketError(path: address.path, problem: .inUse)
        }
        if errno == ECONNREFUSED { _ = unlink(address.path) }
    }

    /// `/run/mptunnel` does not exist until something makes it (systemd's
    /// RuntimeDirectory, or this): create the last folder of the path, readable by all.
    static func createFolder(of path: String) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        _ = mkdir(String(path[..<slash]), 0o755)
    }
}

/// One connection's reply: the rendered table and how much of it was written.
final class ControlReply: ListenerConnection {
    let fd: Int32
    let bytes: [UInt8]
    let startedAt: Timestamp
    var written = 0
    var watcher: IOWatcher?
    private(set) var isFinished = false

    init(fd: Int32, text: String, now: Timestamp) {
        self.fd = fd
        self.bytes = Array(text.utf8)
        self.startedAt = now
    }

    deinit { finish() }

    /// Writes what the socket takes now; returns true when the reply is done (all written,
    /// or the peer went away), after closing the connection.
    @discardableResult
    func writeAvailable() -> Bool {
        while written < bytes.count {
            // MSG_NOSIGNAL: a peer that hung up must not kill the daemon with SIGPIPE.
            let count = bytes.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress.map { $0 + written }, buffer.count - written, Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                written += count
            } else if count < 0 && errno == EINTR {
                continue
            } else if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return false
            } else {
                break
            }
        }
        finish()
        return true
    }

    func watch(on loop: EventLoop) {
        let watcher = IOWatcher(loop: loop, fd: fd, writable: true) { [unowned self] in writeAvailable() }
        watcher.start()
        self.watcher = watcher
    }

    private func finish() {
        guard !isFinished else { return }
        isFinished = true
        watcher?.stop()
        _ = close(fd)
    }
}

/// Where a daemon answers `--status`, and whether the daemon may start without it.
public struct StatusSocketSetting: Hashable, Sendable {
    /// The socket file's path.
    public var path: String
    /// True for a path the user chose: failing to open it stops the start. The default
    /// path only warns (a daemon run by hand, without /run/mptunnel, still tunnels).
    public var isRequired: Bool

    public init(path: String, isRequired: Bool) {
        self.path = path
        self.isRequired = isRequired
    }
}

extension ControlSocket {
    /// The control socket `setting` asks for, or `nil` (none asked, or the default path
    /// failed: logged as a warning naming the path and the cause).
    /// - Throws: ``ControlSocketError`` when a required path cannot be opened.
    static func open(
        _ setting: StatusSocketSetting?, loop: EventLoop, logger: Logger, render: @escaping () -> String
    ) throws -> ControlSocket? {
        try open(setting, loop: loop, logger: logger, slices: { { render() } })
    }

    /// The control socket `setting` asks for, answering with tables made in slices (see
    /// ``init(path:loop:logger:slices:)``); otherwise as ``open(_:loop:logger:render:)``.
    static func open(
        _ setting: StatusSocketSetting?, loop: EventLoop, logger: Logger, slices: @escaping () -> () -> String?
    ) throws -> ControlSocket? {
        guard let setting else { return nil }
        do {
            let socket = try ControlSocket(path: setting.path, loop: loop, logger: logger, slices: slices)
            logger.info("answering --status", metadata: ["control-socket": "\(setting.path)"])
            return socket
        } catch {
            guard !setting.isRequired else { throw error }
            logger.warning(
                "no control socket: --status will not work (set status-socket or --status-socket)",
                metadata: ["error": "\(error)"])
            return nil
        }
    }
}
