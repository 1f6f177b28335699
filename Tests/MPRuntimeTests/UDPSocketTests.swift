import Glibc
import MPTestSupport
import Testing

@testable import MPRuntime

@Suite("UDPSocket")
struct UDPSocketTests {
    static let families: [SocketAddress.Family] = [.ipv4, .ipv6]

    static func loopback(_ family: SocketAddress.Family) -> SocketAddress {
        family == .ipv4 ? .loopbackIPv4(port: 0) : .loopbackIPv6(port: 0)
    }

    /// Polls `socket` until a datagram arrives or the deadline passes.
    static func receiveWithin(
        _ socket: UDPSocket, into buffer: UnsafeMutableRawBufferPointer
    ) -> UDPSocket.ReceiveResult {
        var result = UDPSocket.ReceiveResult.wouldBlock
        waitUntil {
            result = socket.receive(into: buffer)
            if case .wouldBlock = result { return false }
            return true
        }
        return result
    }

    @Test(arguments: families)
    func sendsAndReceivesOnLoopback(family: SocketAddress.Family) throws {
        let server = try UDPSocket(bindingTo: Self.loopback(family))
        let client = try UDPSocket(bindingTo: Self.loopback(family))
        let serverAddress = try server.localAddress
        #expect(serverAddress.port != 0)
        let payload: [UInt8] = [1, 2, 3, 4, 5]
        #expect(payload.withUnsafeBytes { client.send($0, to: serverAddress) } == .sent)

        var buffer = [UInt8](repeating: 0, count: 64)
        let result = buffer.withUnsafeMutableBytes { Self.receiveWithin(server, into: $0) }
        guard case .datagram(let length, let source) = result else {
            Issue.record("expected a datagram, got \(result)")
            return
        }
        #expect(length == payload.count)
        #expect(Array(buffer[0..<length]) == payload)
        #expect(source == (try client.localAddress))
    }

    @Test(arguments: families)
    func connectedSocketSendsToItsPeer(family: SocketAddress.Family) throws {
        let server = try UDPSocket(bindingTo: Self.loopback(family))
        let client = try UDPSocket(family: family)
        try client.connect(to: server.localAddress)
        #expect([UInt8](repeating: 7, count: 3).withUnsafeBytes { client.send($0) } == .sent)
        var buffer = [UInt8](repeating: 0, count: 16)
        let result = buffer.withUnsafeMutableBytes { Self.receiveWithin(server, into: $0) }
        guard case .datagram(let length, _) = result else {
            Issue.record("expected a datagram, got \(result)")
            return
        }
        #expect(length == 3)
    }

    @Test func emptySocketWouldBlock() throws {
        let socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        var buffer = [UInt8](repeating: 0, count: 16)
        let result = buffer.withUnsafeMutableBytes { socket.receive(into: $0) }
        guard case .wouldBlock = result else {
            Issue.record("expected wouldBlock, got \(result)")
            return
        }
    }

    @Test func oversizedDatagramReportsItsRealLength() throws {
        let server = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let client = try UDPSocket(family: .ipv4)
        let serverAddress = try server.localAddress
        let payload = [UInt8](repeating: 0xAB, count: 1500)
        #expect(payload.withUnsafeBytes { client.send($0, to: serverAddress) } == .sent)
        var buffer = [UInt8](repeating: 0, count: 100)
        let result = buffer.withUnsafeMutableBytes { Self.receiveWithin(server, into: $0) }
        guard case .datagram(let length, _) = result else {
            Issue.record("expected a datagram, got \(result)")
            return
        }
        #expect(length == 1500)
        #expect(buffer.allSatisfy { $0 == 0xAB })
    }

    @Test func refusedPortIsAValueNotAnError() throws {
        let client = try UDPSocket(family: .ipv4)
        try client.connect(to: .loopbackIPv4(port: freeUDPPort()))
        var buffer = [UInt8](repeating: 0, count: 16)
        // The ICMP port unreachable for the first datagram surfaces on a later receive or send.
        let refused = waitUntil {
            _ = [UInt8(1)].withUnsafeBytes { client.send($0) }
            let result = buffer.withUnsafeMutableBytes { client.receive(into: $0) }
            if case .failed(errno: ECONNREFUSED) = result { return true }
            return false
        }
        #expect(refused)
    }

    @Test func bindingAPortInUseThrowsNamingTheCall() throws {
        let first = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let address = try first.localAddress
        #expect(throws: SystemError(call: "bind", errno: EADDRINUSE)) {
            try UDPSocket(bindingTo: address)
        }
    }

    @Test func systemErrorDescriptionNamesCallAndErrno() {
        let error = SystemError(call: "bind", errno: EADDRINUSE)
        #expect(error.description == "bind: Address already in use (errno 98)")
    }

    @Test func socketIsNonBlockingAndCloseOnExec() throws {
        let socket = try UDPSocket(family: .ipv6)
        #expect(fcntl(socket.fd, F_GETFL) & O_NONBLOCK != 0)
        #expect(fcntl(socket.fd, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func bufferSizesGrowOnRequest() throws {
        let socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        // 1 MB: above the usual 208 KB default, within rmem_max on stock kernels.
        let requested = 1 << 20
        socket.setBufferSizes(receive: requested, send: requested)
        #expect(socket.bufferSizes.receive >= requested)
        #expect(socket.bufferSizes.send >= requested)
    }

    @Test func ipv6SocketSendsToIPv4MappedPeer() throws {
        let server = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let client = try UDPSocket(family: .ipv6)
        let serverAddress = try server.localAddress
        let result = [UInt8(9)].withUnsafeBytes { client.send($0, to: serverAddress) }
        guard result == .sent else {
            Issue.record("IPv6 socket could not reach an IPv4 peer: \(result)")
            return
        }
        var buffer = [UInt8](repeating: 0, count: 8)
        let received = buffer.withUnsafeMutableBytes { Self.receiveWithin(server, into: $0) }
        guard case .datagram(1, _) = received else {
            Issue.record("expected one byte, got \(received)")
            return
        }
    }
}
