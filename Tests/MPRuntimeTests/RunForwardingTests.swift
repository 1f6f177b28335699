// The daemons take coalesced runs apart and pass runs on. A burst of same-sized payloads
// from the application: mpclient sends each path's frames of a batch as one offloaded
// message, which mpserver's listen socket (UDP GRO) takes as one run and splits; mpserver
// hands the target the payloads of one receive as a run, which the target here receives
// whole (and says so); the target's answers come back the same way to mpclient's path
// sockets. Every payload must come back, intact.
import Glibc
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

@Suite("Runs through the daemons", .serialized)
struct RunForwardingTests {
    static let burst = 48
    static let payloadSize = 1_000

    @Test(arguments: [false, true])
    func aBurstOfSameSizedPayloadsComesBackWhole(sealed: Bool) throws {
        let keyring = sealed ? Keyring(key: try PreSharedKey(bytes: (0..<32).map { UInt8($0) })) : .keyless
        let loop = try EventLoop()
        let tunnel = try LoopbackTunnel(loop: loop, keyring: keyring)
        let application = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        application.setBufferSizes(receive: 4 << 20, send: 4 << 20)
        let destination = try tunnel.client.listenAddress
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var echoes: [[UInt8]] = []
        let watcher = IOWatcher(loop: loop, fd: application.fd) {
            while case .datagram(let length, _) = buffer.withUnsafeMutableBytes({ application.receive(into: $0) }) {
                echoes.append(Array(buffer[0..<min(length, buffer.count)]))
                if echoes.count == 1 || echoes.count == 1 + Self.burst { loop.stop() }
            }
        }
        tunnel.start()
        watcher.start()
        // One round trip first: the session is accepted and the flow opened.
        #expect([UInt8](repeating: 0xFF, count: 10).withUnsafeBytes { application.send($0, to: destination) } == .sent)
        #expect(runLoop(loop, timeout: .seconds(5)), "no echo of the first payload")
        try #require(echoes.count == 1)
        let payloads = (0..<Self.burst).map { [UInt8](repeating: UInt8($0), count: Self.payloadSize) }
        for payload in payloads {
            #expect(payload.withUnsafeBytes { application.send($0, to: destination) } == .sent)
        }
        #expect(runLoop(loop, timeout: .seconds(5)), "\(echoes.count - 1) of \(Self.burst) echoes")
        watcher.stop()
        // Any order (the tunnel does not reorder without a reorder window), each once, intact.
        #expect(echoes.dropFirst().sorted { ($0.first ?? 0) < ($1.first ?? 0) } == payloads)
        #expect(tunnel.echoRuns > 0, "mpserver sent the target no run")
    }
}
