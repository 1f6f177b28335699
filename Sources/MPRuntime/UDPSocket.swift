// The sockets the daemons read and write: mpclient's listen socket and one connected
// socket per path, mpserver's listen socket and one socket per flow towards the target.
// All are non-blocking; a send or receive that cannot proceed comes back as a value, so
// the loop counts it, drops the datagram and serves the other paths.
import Glibc

/// A non-blocking, close-on-exec UDP socket, closed when the object goes away.
///
/// Not thread-safe: use it from the event loop's thread.
public final class UDPSocket {
    /// The file descriptor, for ``IOWatcher``. Owned by this object: do not close it.
    public let fd: Int32
    /// The socket's address family.
    public let family: SocketAddress.Family
    /// The largest datagram a batch send hands the kernel in runs for segmentation offload
    /// (UDP GSO); lowered when the kernel refuses a run, 0 when it refuses them all.
    var segmentLimit = Int.max

    /// Opens an unbound socket; the kernel picks a port on the first send or connect.
    /// An IPv6 socket is dual-stack (IPV6_V6ONLY cleared).
    /// - Throws: ``SystemError`` from `socket`.
    public init(family: SocketAddress.Family) throws {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let type = Int32(SOCK_DGRAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        fd = try checkedSystemCall("socket") { socket(domain, type, 0) }
        self.family = family
        if family == .ipv6 {
            // Dual stack whatever net.ipv6.bindv6only says: `::` then serves IPv4 clients
            // too, and sends to IPv4 peers go out as IPv4-mapped addresses.
            try setOption(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 0, call: "setsockopt(IPV6_V6ONLY)")
        }
    }

    /// Opens a socket bound to `address`. IPv6 sockets clear IPV6_V6ONLY, so binding the
    /// wildcard `::` serves IPv4 and IPv6 clients with one socket.
    /// - Throws: ``SystemError`` from `socket`, `setsockopt` or `bind` (port in use, say).
    public convenience init(bindingTo address: SocketAddress) throws {
        try self.init(family: address.family)
        _ = try checkedSystemCall("bind") { address.withSockAddr { Glibc.bind(fd, $0, $1) } }
    }

    deinit {
        // Nothing useful to do if close fails; the descriptor is gone either way.
        _ = Glibc.close(fd)
    }

    /// The address the socket is bound to (after binding port 0, the port the kernel chose).
    public var localAddress: SocketAddress {
        get throws { try MPRuntime.localAddress(of: fd) }
    }

    /// Fixes the peer: ``send(_:)`` goes to `address`, only its datagrams are received, and
    /// ICMP errors for it (ECONNREFUSED) are reported by later sends and receives.
    /// - Throws: ``SystemError`` from `connect`.
    public func connect(to address: SocketAddress) throws {
        let target = family == .ipv6 ? address.mappedToIPv6 : address
        _ = try checkedSystemCall("connect") { target.withSockAddr { Glibc.connect(fd, $0, $1) } }
    }

    func setOption(level: Int32, name: Int32, value: Int32, call: String) throws(SystemError) {
        var value = value
        _ = try checkedSystemCall(call) {
            setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    func option(level: Int32, name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }
}

extension UDPSocket {
    /// Sets the kernel's receive and send buffer sizes in bytes, best effort: SO_RCVBUFFORCE
    /// and SO_SNDBUFFORCE first (they pass the sysctl limits when running as root), then
    /// SO_RCVBUF and SO_SNDBUF, which the kernel caps at net.core.rmem_max / wmem_max.
    /// Failures are ignored; read ``bufferSizes`` to see what the kernel granted.
    public func setBufferSizes(receive: Int, send: Int) {
        setBufferSize(receive, forced: SO_RCVBUFFORCE, plain: SO_RCVBUF)
        setBufferSize(send, forced: SO_SNDBUFFORCE, plain: SO_SNDBUF)
    }

    /// The buffer sizes in bytes as the kernel reports them (Linux doubles the requested
    /// value to account for its bookkeeping).
    public var bufferSizes: (receive: Int, send: Int) {
        let receive = option(level: SOL_SOCKET, name: SO_RCVBUF) ?? 0
        let send = option(level: SOL_SOCKET, name: SO_SNDBUF) ?? 0
        return (Int(receive), Int(send))
    }

    private func setBufferSize(_ size: Int, forced: Int32, plain: Int32) {
        let value = Int32(clamping: size)
        do {
            try setOption(level: SOL_SOCKET, name: forced, value: value, call: "setsockopt")
        } catch {
            // EPERM without CAP_NET_ADMIN: fall back to the capped option.
            try? setOption(level: SOL_SOCKET, name: plain, value: value, call: "setsockopt")
        }
    }
}

/// The address socket `fd` is bound to (getsockname), for any IPv4 or IPv6 socket.
func localAddress(of fd: Int32) throws(SystemError) -> SocketAddress {
    var raw = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = try checkedSystemCall("getsockname") {
        withUnsafeMutablePointer(to: &raw) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
    }
    guard let address = SocketAddress(storage: raw) else { throw SystemError(call: "getsockname", errno: EAFNOSUPPORT) }
    return address
}
