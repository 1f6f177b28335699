// The daemons take coalesced runs apart and pass runs on. A burst of same-sized payloads
// from the application, sent one by one or as one offloaded send (which mpclient's listen
// socket then receives whole, as a run, and spreads apart to frame each payload where it
// lies): mpclient sends each path's frames of a batch as one offloaded message, which
// mpserver's listen socket (UDP GRO) takes as one run and splits; mpserver hands the
// target the payloads of one receive as a run, which the target here receives whole (and
// says so) and answers the same way, so mpserver's flow socket receives the answers as a
// run and spreads them apart; they come back as runs to mpclient's path sockets. Every
// payload must come back, intact.
import Glibc
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

@Suite("Runs through the daemons", .serialized)
struct RunForwardingTests {
    static let burst = 48
    static let payloadSize = 1_000

    @Test(arguments: [false, true], [false, true])
    func aBurstOfSameSizedPayloadsComesBackWhole(sealed: Bool, offloaded: Bool) throws {
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
        if offloaded {
            let burst = SendBatch(capacity: Self.burst, family: .ipv4)
            var sent = 0
            withExtendedLifetime(payloads) {
                for payload in payloads {
                    payload.withUnsafeBytes { _ = burst.append(datagram: $0, to: destination) }
                }
                application.send(burst) { _, ok in sent += ok ? 1 : 0 }
            }
            #expect(sent == Self.burst)
        } else {
            for payload in payloads {
                #expect(payload.withUnsafeBytes { application.send($0, to: destination) } == .sent)
            }
        }
        #expect(runLoop(loop, timeout: .seconds(5)), "\(echoes.count - 1) of \(Self.burst) echoes")
        watcher.stop()
        // Any order (the tunnel does not reorder without a reorder window), each once, intact.
        #expect(echoes.dropFirst().sorted { ($0.first ?? 0) < ($1.first ?? 0) } == payloads)
        #expect(tunnel.echoRuns > 0, "mpserver sent the target no run")
        #expect(tunnel.server.counters.targetRuns > 0, "mpserver received no run from the target")
        if offloaded { #expect(tunnel.client.applicationRuns > 0, "mpclient received no run from the application") }
    }
}
