import Foundation
import Glibc
import MPCore
import MPRuntime
import MPTestSupport
import MPLabSupport

/// What `mplab echo --stats-file` reports.
struct EchoCounts: Decodable, Equatable {
    var received: Int
    var prefixed: Int

    /// Datagrams that reached the target and were not the test's own probes.
    var others: Int { received - prefixed }
}

/// A keyed tunnel for attack tests: echo target (counting the test's probes apart),
/// mpserver, one path through a ``TapRelay`` that records every frame, and mpclient.
/// Everything on 127.0.0.1. `products`: where the daemons and the echo target come from (the
/// debug build of the tests by default).
final class AttackFixture {
    /// The payload prefix of the test's own traffic; anything else reaching the target counts
    /// as delivered by an attack.
    static let probePrefix = "probe-"

    let lab: TunnelLab
    let echoPort = freeUDPPort()
    let serverPort = freeUDPPort()
    let listenPort = freeUDPPort()
    let statsFile: String
    let tap: TapRelay
    let prober: Prober
    var server: ChildProcess?
    var client: ChildProcess?
    private var probeNumber = 0
    /// Payloads the prober sent whose echo has not come back yet. Every reply must take one
    /// of them off; an echo that comes back late (after a host pause, say) still does.
    private var unanswered: Set<[UInt8]> = []
    /// Replies the application got that were not the first echo of a payload it sent: a
    /// payload it never sent, or one already answered, reached it some other way.
    private(set) var strayReplies = 0

    init(products: String = productsDirectory()) throws {
        lab = try TunnelLab(keyed: true, products: products)
        statsFile = "\(lab.directory)/echo.json"
        try lab.startEcho(port: echoPort, statsFile: statsFile, countPrefix: Self.probePrefix)
        server = try lab.startServer(port: serverPort, targetPort: echoPort)
        tap = try TapRelay(to: .loopbackIPv4(port: serverPort))
        client = try lab.startClient(listenPort: listenPort, pathPorts: [tap.listenAddress.port])
        prober = try Prober(to: .loopbackIPv4(port: listenPort))
    }

    deinit {
        tap.stop()
    }

    func restartServer() throws {
        server = try lab.startServer(port: serverPort, targetPort: echoPort)
    }

    func restartClient() throws {
        client = try lab.startClient(listenPort: listenPort, pathPorts: [tap.listenAddress.port])
    }

    /// One probe through the tunnel and back within `timeout`. Every datagram the prober
    /// meets on the way is accounted for (see ``strayReplies``). A reply also means mpserver
    /// has judged everything that reached its socket before the probe: the tests use it to
    /// pace their floods.
    @discardableResult
    func probe(timeout: Duration = .seconds(1)) -> Bool {
        probeNumber += 1
        let payload = Array("\(Self.probePrefix)\(probeNumber)".utf8)
        send(payload)
        let deadline = Deadline(timeout: timeout)
        while !deadline.hasPassed, let reply = prober.receive(timeout: deadline.remaining) {
            if answers(reply), reply == payload { return true }
        }
        return false
    }

    private func send(_ payload: [UInt8]) {
        unanswered.insert(payload)
        prober.send(payload)
    }

    /// Whether `reply` is the first echo of a payload sent; if not, it is counted as stray.
    private func answers(_ reply: [UInt8]) -> Bool {
        guard unanswered.remove(reply) != nil else {
            strayReplies += 1
            return false
        }
        return true
    }

    /// Seconds until a probe comes back, probing every 10 ms; nil after `timeout`.
    func secondsUntilTraffic(timeout: Duration = .seconds(8)) -> Double? {
        let start = ContinuousClock.now
        guard waitUntil(timeout: timeout, poll: .milliseconds(1), condition: { probe(timeout: .milliseconds(10)) })
        else { return nil }
        return start.duration(to: .now).inSeconds
    }

    /// Sends `count` payloads `<prefix><n>` through the tunnel, keeping at most `window`
    /// without a reply (a lost one frees its place after 50 ms), so that no queue on the way
    /// overflows on a loaded machine. Returns how many came back.
    @discardableResult
    func pushTraffic(count: Int, prefix: String, window: Int = 64) -> Int {
        var replies = 0
        var sent = 0
        var outstanding = 0
        while sent < count {
            while outstanding < window, sent < count {
                send(Array("\(prefix)\(sent)".utf8))
                sent += 1
                outstanding += 1
            }
            if let reply = prober.receive(timeout: .milliseconds(50)) {
                if answers(reply) { replies += 1 }
                outstanding -= 1
            } else {
                outstanding = 0
            }
        }
        return replies + prober.drain(timeout: .milliseconds(300)).count(where: answers)
    }

    /// The echo target's counters once they stopped moving (the file is rewritten every
    /// second), or nil after `timeout`.
    func settledEchoCounts(timeout: Duration = .seconds(10)) -> EchoCounts? {
        var last = readEchoCounts()
        let deadline = Deadline(timeout: timeout)
        while !deadline.hasPassed {
            // 1.1 s: the echo target rewrites the file every second.
            sleep(for: .milliseconds(1_100))
            let current = readEchoCounts()
            if let current, current == last { return current }
            last = current
        }
        return nil
    }

    private func readEchoCounts() -> EchoCounts? {
        guard let text = try? TextFile.read(path: statsFile) else { return nil }
        return try? JSONDecoder().decode(EchoCounts.self, from: Data(text.utf8))
    }

    /// Sends `frames` to mpserver with `send`, probing through the tunnel after every 1,000
    /// so that mpserver judges them rather than its socket buffer overflowing. Returns the
    /// probes that came back.
    @discardableResult
    func paced(_ frames: [[UInt8]], send: ([UInt8]) -> Void) -> Int {
        var through = 0
        for (index, frame) in frames.enumerated() {
            send(frame)
            if index % 1_000 == 999, probe() { through += 1 }
        }
        return through + (probe() ? 1 : 0)
    }
}

/// The counters of a daemon's SIGUSR1 statistics line (`sessions=1 dropped=40 ...`).
func statistics(of process: ChildProcess?, line marker: String, timeout: Duration = .seconds(3)) -> [String: Int]? {
    guard let process else { return nil }
    let before = process.log.components(separatedBy: marker).count
    process.signal(SIGUSR1)
    var counters: [String: Int]?
    waitUntil(timeout: timeout) {
        let log = process.log
        guard log.components(separatedBy: marker).count > before,
            let line = log.split(separator: "\n").last(where: { $0.contains(marker) })
        else { return false }
        counters = parseCounters(line)
        return true
    }
    return counters
}

/// `key=123` pairs of a log line; values that are not integers are left out.
func parseCounters(_ line: some StringProtocol) -> [String: Int] {
    var counters: [String: Int] = [:]
    for token in line.split(separator: " ") {
        let parts = token.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let value = Int(parts[1]) else { continue }
        counters[String(parts[0])] = value
    }
    return counters
}

/// Seconds from `start` until `process`'s log contains `text`, polling every 10 ms; nil
/// after `timeout`.
func secondsUntilLog(
    _ process: ChildProcess?, contains text: String, since start: ContinuousClock.Instant,
    timeout: Duration = .seconds(10)
) -> Double? {
    guard let process, waitUntil(timeout: timeout, condition: { process.log.contains(text) }) else { return nil }
    return start.duration(to: .now).inSeconds
}

/// How many lines of `process`'s log contain `text`.
func logLines(_ process: ChildProcess?, containing text: String) -> Int {
    process?.log.split(separator: "\n").count(where: { $0.contains(text) }) ?? 0
}

extension Duration {
    /// The length in seconds, as a Double for printing.
    var inSeconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}

/// A loopback socket on a fresh port: a stranger to the tunnel.
func strangerSocket() throws -> UDPSocket {
    let socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
    socket.setBufferSizes(receive: 8 << 20, send: 8 << 20)
    return socket
}

extension UDPSocket {
    /// Sends `bytes` to `address`; true when the kernel took it.
    @discardableResult
    func send(_ bytes: [UInt8], to address: SocketAddress) -> Bool {
        bytes.withUnsafeBytes { send($0, to: address) } == .sent
    }

    /// Every datagram waiting now or arriving within `timeout` of the last one.
    func drainCount(timeout: Duration) -> Int {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var count = 0
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            if case .datagram = buffer.withUnsafeMutableBytes({ receive(into: $0) }) {
                count += 1
                continue
            }
            // 1e15 attoseconds per millisecond.
            let (seconds, attoseconds) = timeout.components
            guard poll(&descriptor, 1, Int32(seconds * 1_000 + attoseconds / 1_000_000_000_000_000)) > 0 else {
                return count
            }
        }
    }
}
