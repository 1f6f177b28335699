// Name resolution for the config's `HOST PORT` lines and the command line's target. It is
// I/O (DNS, /etc/hosts), so it lives here and not in the config parser; the daemons call it
// once at start, before the loop runs, because getaddrinfo blocks.
import Glibc

/// A host name that could not be turned into addresses.
public struct ResolutionError: Error, CustomStringConvertible, Equatable {
    /// The host as the user wrote it.
    public let host: String
    /// Why, for example `Name or service not known`.
    public let reason: String

    /// Creates an error for `host` with `reason`.
    public init(host: String, reason: String) {
        self.host = host
        self.reason = reason
    }

    /// For example ``cannot resolve `foo.invalid': Name or service not known``.
    public var description: String {
        "cannot resolve `\(host)': \(reason)"
    }
}

/// Turns host names and numeric addresses into socket addresses.
public enum Resolver {
    /// Returns the UDP addresses of `host` with `port`, in getaddrinfo's order of
    /// preference (RFC 6724), without duplicates and never empty.
    ///
    /// Numeric addresses (`127.0.0.1`, `::1`, `[::1]`) are parsed without a lookup. Blocks
    /// while DNS answers: call it before the event loop runs.
    /// - Throws: ``ResolutionError`` quoting `host`.
    public static func resolve(host: String, port: UInt16) throws -> [SocketAddress] {
        if let address = SocketAddress(ipAddress: host, port: port) {
            return [address]
        }
        guard !host.isEmpty else { throw ResolutionError(host: host, reason: "empty host name") }
        // A NUL would silently cut the name short in C.
        guard !host.utf8.contains(0) else { throw ResolutionError(host: host, reason: "host name contains a NUL byte") }
        let addresses = try lookUp(host: host).map { $0.withPort(port) }
        guard !addresses.isEmpty else { throw ResolutionError(host: host, reason: "no IPv4 or IPv6 address") }
        return addresses
    }

    private static func lookUp(host: String) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        // No AI_ADDRCONFIG: it hides ::1 on hosts whose only IPv6 address is loopback.
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else { throw ResolutionError(host: host, reason: reason(forStatus: status)) }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let current = entry {
            if let raw = current.pointee.ai_addr,
                let address = SocketAddress(pointer: raw, length: current.pointee.ai_addrlen),
                !addresses.contains(address)
            {
                addresses.append(address)
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }

    private static func reason(forStatus status: Int32) -> String {
        // EAI_SYSTEM means the reason is in errno, not in gai_strerror's generic text.
        if status == EAI_SYSTEM {
            return SystemError.message(for: errno)
        }
        guard let text = gai_strerror(status) else { return "getaddrinfo error \(status)" }
        return String(cString: text)
    }
}
