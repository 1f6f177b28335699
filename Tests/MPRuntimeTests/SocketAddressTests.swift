import Glibc
import Testing

@testable import MPRuntime

@Suite("SocketAddress")
struct SocketAddressTests {
    @Test(
        "numeric addresses parse and print",
        arguments: [
            ("127.0.0.1", UInt16(3000), "127.0.0.1:3000", SocketAddress.Family.ipv4),
            ("10.1.2.3", 0, "10.1.2.3:0", .ipv4),
            ("::1", 2000, "[::1]:2000", .ipv6),
            ("[::1]", 2000, "[::1]:2000", .ipv6),
            ("2001:DB8::7", 65535, "[2001:db8::7]:65535", .ipv6),
            ("::ffff:192.0.2.1", 1, "[::ffff:192.0.2.1]:1", .ipv6),
        ])
    func parsesAndPrints(text: String, port: UInt16, expected: String, family: SocketAddress.Family) throws {
        let address = try #require(SocketAddress(ipAddress: text, port: port))
        #expect(address.description == expected)
        #expect(address.port == port)
        #expect(address.family == family)
    }

    @Test(
        "anything but a numeric address is rejected",
        arguments: [
            "", "localhost", "1.2.3", "256.1.1.1", "127.0.0.1:80", " 127.0.0.1", "127.0.0.1 ",
            "[::1", "::1]", "[]", "[127.0.0.1", ":::1", "1::2::3", "127.0.0.1\0junk", "[[::1]]",
        ])
    func rejects(text: String) {
        #expect(SocketAddress(ipAddress: text, port: 1) == nil)
    }

    @Test func loopbackConstructorsMatchParsedAddresses() {
        #expect(SocketAddress.loopbackIPv4(port: 7) == SocketAddress(ipAddress: "127.0.0.1", port: 7))
        #expect(SocketAddress.loopbackIPv6(port: 7) == SocketAddress(ipAddress: "::1", port: 7))
        #expect(SocketAddress.wildcard(.ipv4, port: 9).description == "0.0.0.0:9")
        #expect(SocketAddress.wildcard(.ipv6, port: 9).description == "[::]:9")
        #expect(SocketAddress.wildcard(.ipv6, port: 9).isWildcard)
        #expect(!SocketAddress.loopbackIPv6(port: 9).isWildcard)
    }

    @Test func equalityAndHashingCoverAddressAndPort() {
        let first = SocketAddress.loopbackIPv4(port: 1)
        let set: Set = [first, first.withPort(1), first.withPort(2), SocketAddress.loopbackIPv6(port: 1)]
        #expect(set.count == 3)
        #expect(first != first.withPort(2))
    }

    @Test func holdsNoReferences() {
        // Trivially copyable: copying, hashing and comparing never touch the heap.
        #expect(_isPOD(SocketAddress.self))
    }

    @Test(arguments: ["127.0.0.1", "192.0.2.200", "::1", "2001:db8::1", "fe80::1"])
    func roundTripsThroughSockAddr(text: String) throws {
        let address = try #require(SocketAddress(ipAddress: text, port: 4242))
        let copy = address.withSockAddr { pointer, length in
            SocketAddress(pointer: pointer, length: length)
        }
        #expect(copy == address)
    }

    @Test func ipv4MapsIntoIPv6() throws {
        let address = try #require(SocketAddress(ipAddress: "127.0.0.1", port: 5))
        #expect(address.mappedToIPv6.description == "[::ffff:127.0.0.1]:5")
        #expect(address.mappedToIPv6 == SocketAddress(ipAddress: "::ffff:127.0.0.1", port: 5))
        #expect(SocketAddress.loopbackIPv6(port: 5).mappedToIPv6 == SocketAddress.loopbackIPv6(port: 5))
    }

    @Test func unknownFamiliesAreRejected() {
        var raw = sockaddr_storage()
        raw.ss_family = sa_family_t(AF_UNIX)
        #expect(SocketAddress(storage: raw) == nil)
    }
}
