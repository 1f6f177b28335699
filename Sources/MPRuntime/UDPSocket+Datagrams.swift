// The hot path: one datagram in, one datagram out. No allocation, no throwing: every
// outcome, including errors such as ECONNREFUSED, is a value the caller counts.
import Glibc

extension UDPSocket {
    /// What ``receive(into:)`` found.
    public enum ReceiveResult {
        /// A datagram of `length` bytes from `from`. When `length` exceeds the buffer the
        /// datagram was truncated to the buffer's size: drop it.
        case datagram(length: Int, from: SocketAddress)
        /// Nothing waiting.
        case wouldBlock
        /// The receive failed, for example ECONNREFUSED after an ICMP port unreachable for
        /// an earlier send on a connected socket. The socket stays usable.
        case failed(errno: Int32)
    }

    /// What a send did.
    public enum SendResult: Equatable {
        /// The kernel took the datagram.
        case sent
        /// The socket's send buffer is full; the datagram was not sent.
        case wouldBlock
        /// The send failed (ECONNREFUSED, EPERM from a firewall, EMSGSIZE...); not sent.
        case failed(errno: Int32)
    }

    /// Receives one datagram into `buffer` without blocking.
    ///
    /// `length` is the datagram's real length (MSG_TRUNC), so a datagram larger than
    /// `buffer` is detected rather than silently cut.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> ReceiveResult {
        var raw = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        do {
            let outcome = try systemCall("recvfrom") {
                withUnsafeMutablePointer(to: &raw) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                        recvfrom(fd, buffer.baseAddress, buffer.count, Int32(MSG_TRUNC), address, &length)
                    }
                }
            }
            guard case .completed(let count) = outcome else { return .wouldBlock }
            guard let source = SocketAddress(storage: raw) else { return .failed(errno: EAFNOSUPPORT) }
            return .datagram(length: count, from: source)
        } catch {
            return .failed(errno: error.errno)
        }
    }

    /// Sends `bytes` as one datagram to `address` without blocking. An IPv4 address is
    /// mapped for an IPv6 socket.
    public func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress) -> SendResult {
        let target = family == .ipv6 ? address.mappedToIPv6 : address
        return Self.sendResult { () throws(SystemError) in
            try systemCall("sendto") {
                target.withSockAddr { sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, $1) }
            }
        }
    }

    /// Sends `bytes` as one datagram to the connected peer without blocking.
    public func send(_ bytes: UnsafeRawBufferPointer) -> SendResult {
        Self.sendResult { () throws(SystemError) in
            try systemCall("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    private static func sendResult(_ body: () throws(SystemError) -> SystemCallOutcome<Int>) -> SendResult {
        do {
            switch try body() {
            case .completed: return .sent
            case .wouldBlock: return .wouldBlock
            }
        } catch {
            return .failed(errno: error.errno)
        }
    }
}
