// An application for end-to-end tests: sends datagrams to mpclient's listen address and
// waits, with a deadline, for what comes back (through the tunnel and an echo target).
import Glibc
import MPCore
import MPRuntime

/// A UDP socket on 127.0.0.1 that talks to one address and waits for replies with poll(2).
public final class Prober {
    /// The socket (its address is one application address, one flow).
    public let socket: UDPSocket
    /// Where datagrams go.
    public let destination: SocketAddress
    private var buffer = [UInt8](repeating: 0, count: 70_000)

    /// A prober sending to `destination` from a fresh port on 127.0.0.1.
    public init(to destination: SocketAddress) throws {
        self.destination = destination
        socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        socket.setBufferSizes(receive: 8 << 20, send: 8 << 20)
    }

    /// Sends `payload`; true when the kernel took it.
    @discardableResult
    public func send(_ payload: [UInt8]) -> Bool {
        payload.withUnsafeBytes { socket.send($0, to: destination) } == .sent
    }

    /// The next datagram to arrive within `timeout`, or nil.
    public func receive(timeout: Duration) -> [UInt8]? {
        let deadline = Deadline(timeout: timeout)
        repeat {
            let outcome = buffer.withUnsafeMutableBytes { socket.receive(into: $0) }
            if case .datagram(let length, _) = outcome { return Array(buffer[..<min(length, buffer.count)]) }
            socket.waitReadable(milliseconds: Int32(min(deadline.remaining.components.seconds * 1000 + 1, 1000)))
        } while !deadline.hasPassed
        return nil
    }

    /// Sends `payload` and returns the first reply within `timeout`.
    public func roundTrip(_ payload: [UInt8], timeout: Duration = .seconds(1)) -> [UInt8]? {
        send(payload)
        return receive(timeout: timeout)
    }

    /// Everything that arrives within `timeout` (drains the socket).
    public func drain(timeout: Duration) -> [[UInt8]] {
        var received: [[UInt8]] = []
        while let datagram = receive(timeout: timeout) { received.append(datagram) }
        return received
    }
}
