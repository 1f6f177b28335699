// Conversions between `SocketAddress` and the kernel's `sockaddr_in` / `sockaddr_in6`:
// built on the stack for each call, so sends and receives never allocate.
import Glibc

extension SocketAddress {
    /// Reads an address the kernel wrote (recvfrom, getsockname, getaddrinfo). Returns nil
    /// for families other than AF_INET and AF_INET6.
    init?(storage raw: sockaddr_storage) {
        let family = Int32(raw.ss_family)
        let parsed: SocketAddress? = withUnsafeBytes(of: raw) { bytes in
            switch family {
            case AF_INET:
                let address = bytes.loadUnaligned(as: sockaddr_in.self)
                return SocketAddress(
                    storage: .ipv4(address: address.sin_addr.s_addr), port: UInt16(bigEndian: address.sin_port))
            case AF_INET6:
                let address = bytes.loadUnaligned(as: sockaddr_in6.self)
                let storage = Self.storage(of: address.sin6_addr, scopeID: address.sin6_scope_id)
                return SocketAddress(storage: storage, port: UInt16(bigEndian: address.sin6_port))
            default:
                return nil
            }
        }
        guard let parsed else { return nil }
        self = parsed
    }

    /// Reads `length` bytes of a socket address at `pointer` (getaddrinfo's `ai_addr`).
    init?(pointer: UnsafePointer<sockaddr>, length: socklen_t) {
        guard length <= socklen_t(MemoryLayout<sockaddr_storage>.size) else { return nil }
        var raw = sockaddr_storage()
        withUnsafeMutableBytes(of: &raw) { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: Int(length)))
        }
        self.init(storage: raw)
    }

    /// Calls `body` with this address as a `sockaddr` and its length, for bind, connect
    /// and sendto.
    func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
        switch storage {
        case .ipv4(let address):
            var raw = sockaddr_in()
            raw.sin_family = sa_family_t(AF_INET)
            raw.sin_port = port.bigEndian
            raw.sin_addr = in_addr(s_addr: address)
            return try Self.withRebound(&raw, body)
        case .ipv6(_, _, let scopeID):
            var raw = sockaddr_in6()
            raw.sin6_family = sa_family_t(AF_INET6)
            raw.sin6_port = port.bigEndian
            raw.sin6_addr = Self.in6Address(of: storage)
            raw.sin6_scope_id = scopeID
            return try Self.withRebound(&raw, body)
        }
    }

    private static func withRebound<Raw, Result>(
        _ raw: inout Raw, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result
    ) rethrows -> Result {
        try withUnsafePointer(to: &raw) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                try body(address, socklen_t(MemoryLayout<Raw>.size))
            }
        }
    }

    /// This address as seen by an IPv6 socket: IPv4 addresses become IPv4-mapped
    /// (`::ffff:a.b.c.d`), so a dual-stack socket can send to them.
    var mappedToIPv6: SocketAddress {
        guard case .ipv4(let address) = storage else { return self }
        // Bytes 10 and 11 are 0xff, then the four IPv4 bytes: in memory order the low word
        // is 00 00 ff ff a b c d.
        var low: UInt64 = 0
        withUnsafeMutableBytes(of: &low) { bytes in
            bytes[2] = 0xff
            bytes[3] = 0xff
            bytes.storeBytes(of: address, toByteOffset: 4, as: UInt32.self)
        }
        return SocketAddress(storage: .ipv6(high: 0, low: low, scopeID: 0), port: port)
    }

    static func storage(of address: in6_addr, scopeID: UInt32) -> Storage {
        withUnsafeBytes(of: address) { bytes in
            .ipv6(
                high: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                low: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                scopeID: scopeID)
        }
    }

    static func in6Address(of storage: Storage) -> in6_addr {
        var address = in6_addr()
        if case .ipv6(let high, let low, _) = storage {
            withUnsafeMutableBytes(of: &address) { bytes in
                bytes.storeBytes(of: high, toByteOffset: 0, as: UInt64.self)
                bytes.storeBytes(of: low, toByteOffset: 8, as: UInt64.self)
            }
        }
        return address
    }
}
