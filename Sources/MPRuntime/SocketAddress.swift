// Addresses of applications, bridges, mpserver and targets. Received datagrams carry one,
// the engines key paths and flows by it, and every send takes one, so it is a small value
// with no heap storage: hashing and comparing it on the hot path allocates nothing.
import Glibc

/// An IPv4 or IPv6 address and a UDP port.
///
/// Stored as fixed-size integers (no arrays), so copying, hashing and comparing never
/// allocate. IPv4 clients of a dual-stack socket appear as IPv4-mapped IPv6 addresses
/// (`[::ffff:127.0.0.1]:3000`); sending to a plain IPv4 address through such a socket works.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address family.
    public enum Family: Hashable, Sendable {
        case ipv4, ipv6
    }

    /// Address bytes exactly as they sit in `in_addr` / `in6_addr` (network byte order).
    enum Storage: Hashable, Sendable {
        case ipv4(address: UInt32)
        case ipv6(high: UInt64, low: UInt64, scopeID: UInt32)
    }

    let storage: Storage
    /// The UDP port, in host byte order.
    public let port: UInt16

    init(storage: Storage, port: UInt16) {
        self.storage = storage
        self.port = port
    }

    /// The address family.
    public var family: Family {
        switch storage {
        case .ipv4: return .ipv4
        case .ipv6: return .ipv6
        }
    }

    /// Parses a numeric address: `127.0.0.1`, `::1` or `[::1]`. Returns nil for anything
    /// else, including host names (use ``Resolver`` for those).
    public init?(ipAddress: String, port: UInt16) {
        var text = Substring(ipAddress)
        if text.first == "[" && text.last == "]" && text.count >= 2 {
            text = text.dropFirst().dropLast()
        }
        // A NUL would end the C string early and let "1.2.3.4\0junk" through.
        guard !text.utf8.contains(0) else { return nil }
        if let storage = Self.parseIPv4(String(text)) ?? Self.parseIPv6(String(text)) {
            self.init(storage: storage, port: port)
        } else {
            return nil
        }
    }

    private static func parseIPv4(_ text: String) -> Storage? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return .ipv4(address: address.s_addr)
    }

    private static func parseIPv6(_ text: String) -> Storage? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return Self.storage(of: address, scopeID: 0)
    }

    /// `127.0.0.1:port`.
    public static func loopbackIPv4(port: UInt16) -> SocketAddress {
        // INADDR_LOOPBACK is in host byte order; storage keeps network byte order.
        SocketAddress(storage: .ipv4(address: UInt32(INADDR_LOOPBACK).bigEndian), port: port)
    }

    /// `[::1]:port`.
    public static func loopbackIPv6(port: UInt16) -> SocketAddress {
        // ::1 is fifteen zero bytes then a one: the last byte of the low word in memory.
        SocketAddress(storage: .ipv6(high: 0, low: UInt64(1).bigEndian, scopeID: 0), port: port)
    }

    /// The wildcard address of `family` (`0.0.0.0` or `::`), for binding every interface.
    public static func wildcard(_ family: Family, port: UInt16) -> SocketAddress {
        switch family {
        case .ipv4: return SocketAddress(storage: .ipv4(address: 0), port: port)
        case .ipv6: return SocketAddress(storage: .ipv6(high: 0, low: 0, scopeID: 0), port: port)
        }
    }

    /// The same address with another port.
    public func withPort(_ port: UInt16) -> SocketAddress {
        SocketAddress(storage: storage, port: port)
    }

    /// True for `0.0.0.0` and `::`.
    public var isWildcard: Bool {
        switch storage {
        case .ipv4(let address): return address == 0
        case .ipv6(let high, let low, _): return high == 0 && low == 0
        }
    }

    /// The address without the port: `127.0.0.1`, `::1`, `fe80::1%2`.
    public var ipAddress: String {
        switch storage {
        case .ipv4(let address):
            return withUnsafeBytes(of: in_addr(s_addr: address)) { Self.format(family: AF_INET, $0) }
        case .ipv6(_, _, let scopeID):
            let text = withUnsafeBytes(of: Self.in6Address(of: storage)) { Self.format(family: AF_INET6, $0) }
            return scopeID == 0 ? text : "\(text)%\(scopeID)"
        }
    }

    /// `127.0.0.1:3000` or `[::1]:2000`.
    public var description: String {
        switch family {
        case .ipv4: return "\(ipAddress):\(port)"
        case .ipv6: return "[\(ipAddress)]:\(port)"
        }
    }

    /// inet_ntop of the `in_addr` or `in6_addr` in `address`.
    private static func format(family: Int32, _ address: UnsafeRawBufferPointer) -> String {
        // 64 bytes: more than INET6_ADDRSTRLEN (46), the longest text inet_ntop writes.
        let capacity = 64
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
            guard let base = buffer.baseAddress,
                inet_ntop(family, address.baseAddress, base, socklen_t(capacity)) != nil
            else { return "?" }
            return String(cString: base)
        }
    }
}
