// Path health end to end: a bridge killed mid-stream in duplicate mode loses nothing and
// is reported down, then up; a backup path carries no payload while a primary is up.
// The bridges are mplab relays (one process each, so killing one really cuts the path).
import Foundation
import MPCore
import MPRuntime
import MPTestSupport
import Testing

@Suite("Path health and scheduling", .serialized)
struct PathHealthTests {
    /// Echo target, mpserver, one relay per entry of `backup` (true: a `backup` path), mpclient.
    final class Setup {
        let lab = TunnelLab()
        let echoPort = freeUDPPort()
        let serverPort = freeUDPPort()
        let listenPort = freeUDPPort()
        var relayPorts: [UInt16] = []
        var relays: [ChildProcess] = []
        var client: ChildProcess?

        init(backup: [Bool], extraLines: [String] = []) throws {
            try lab.startEcho(port: echoPort)
            try lab.startServer(port: serverPort, targetPort: echoPort)
            for index in backup.indices {
                let port = freeUDPPort()
                relays.append(try lab.startRelay(listenPort: port, targetPort: serverPort, seed: index + 1))
                relayPorts.append(port)
            }
            // Paths written here (not by startClient) so that a path line can carry `backup`.
            let paths = zip(relayPorts, backup).map { "127.0.0.1 \($0)\($1 ? " backup" : "")" }
            client = try lab.startClient(listenPort: listenPort, pathPorts: [], extraLines: paths + extraLines)
        }

        func restartRelay(_ index: Int) throws {
            relays[index] = try lab.startRelay(listenPort: relayPorts[index], targetPort: serverPort, seed: index + 1)
        }

        /// Seconds until the client's log holds `count` lines containing `text`, while
        /// `stream` runs each millisecond; nil after `timeout`.
        func secondsUntilLog(_ text: String, count: Int, timeout: Duration, stream: () -> Void) -> Double? {
            let start = ContinuousClock.now
            let found = waitUntil(timeout: timeout, poll: .milliseconds(1)) {
                stream()
                return (client?.log.components(separatedBy: text).count ?? 1) - 1 >= count
            }
            guard found else { return nil }
            let elapsed = start.duration(to: .now).components
            return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        }
    }

    /// Sends numbered payloads every 2 ms and collects the numbers echoed back.
    final class Stream {
        let prober: Prober
        var sent = 0
        var received = Set<Int>()
        var lastSend = ContinuousClock.now

        init(to port: UInt16) throws { prober = try Prober(to: .loopbackIPv4(port: port)) }

        func step() {
            if lastSend.duration(to: .now) >= .milliseconds(2) {
                lastSend = .now
                _ = prober.send(Array(String(sent).utf8))
                sent += 1
            }
            while let reply = prober.receive(timeout: .zero) {
                if let number = Int(String(decoding: reply, as: UTF8.self)) { received.insert(number) }
            }
        }

        /// Waits for the last replies, then counts what never came back.
        func lost() -> Int {
            _ = waitUntil(timeout: .seconds(1), poll: .milliseconds(5)) {
                step()
                return received.count >= sent
            }
            return sent - received.count
        }
    }

    @Test("duplicate mode: a bridge killed mid-stream loses nothing, is down within 3 s, up within 3 s of its return")
    func failover() throws {
        let setup = try Setup(backup: [false, false, false])
        #expect(try setup.lab.waitForTunnel(listenPort: setup.listenPort), "\(setup.lab.logs)")
        let stream = try Stream(to: setup.listenPort)
        _ = waitUntil(timeout: .seconds(2), poll: .milliseconds(1)) {
            stream.step()
            return false
        }
        setup.relays[1].kill9()
        let down = setup.secondsUntilLog("path down", count: 1, timeout: .seconds(6), stream: stream.step)
        try setup.restartRelay(1)
        let up = setup.secondsUntilLog("path up", count: 1, timeout: .seconds(6), stream: stream.step)
        let lost = stream.lost()
        print(
            "failover: down after \(down.map { "\($0)" } ?? "never") s, up after \(up.map { "\($0)" } ?? "never") s, "
                + "\(stream.sent) payloads, \(lost) lost")
        #expect((down ?? 99) <= 3, "\(setup.lab.logs)")
        #expect((up ?? 99) <= 3, "\(setup.lab.logs)")
        #expect(lost == 0, "\(setup.lab.logs)")
    }

    @Test("a backup path carries no payload while a primary is up, and takes over when it dies")
    func backup() throws {
        let setup = try Setup(backup: [false, true])
        #expect(try setup.lab.waitForTunnel(listenPort: setup.listenPort), "\(setup.lab.logs)")
        let stream = try Stream(to: setup.listenPort)
        _ = waitUntil(timeout: .seconds(2), poll: .milliseconds(1)) {
            stream.step()
            return false
        }
        // One path, no redundancy: a datagram lost in a starved socket buffer is loopback's
        // doing, not the backup's; the backup must not be needed while the primary is up.
        let lost = stream.lost()
        #expect(lost * 200 <= stream.sent, "\(lost) of \(stream.sent) lost on the primary alone")
        setup.client?.signal(SIGUSR1)
        _ = waitUntil(timeout: .seconds(2)) { setup.client?.log.contains("state=up (backup)") == true }
        let table = setup.client?.log ?? ""
        // Probes only: about one a second each way, against 1,000 payloads on the primary.
        let backupLine = table.split(separator: "\n").first { $0.contains("state=up (backup)") }.map(String.init) ?? ""
        let sentOnBackup = Self.value(of: "sent", in: backupLine) ?? 9_999
        print("backup path while the primary is up: \(sentOnBackup) frames sent (probes only)")
        #expect(sentOnBackup <= 10, "\(backupLine)")
        setup.relays[0].kill9()
        let start = ContinuousClock.now
        let taken = waitUntil(timeout: .seconds(6), poll: .milliseconds(1)) {
            stream.step()
            return stream.received.contains(stream.sent - 1)
                && start.duration(to: .now) > .milliseconds(100)
        }
        let elapsed = start.duration(to: .now)
        print("backup carries traffic \(elapsed) after the primary died")
        #expect(taken)
    }

    /// The value of `key=value` (swift-log metadata) in a log line.
    static func value(of key: String, in line: String) -> Int? {
        guard let range = line.range(of: " \(key)=") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}
