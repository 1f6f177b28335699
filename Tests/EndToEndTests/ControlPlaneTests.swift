// Issue 19, item 4, end to end: mpserver's control plane cannot stall its data path. Eight
// local connections trickling requests a byte at a time cost mpserver under 10% of a core,
// and a scrape of an mpserver with 4,096 sessions × 32 paths holds its loop under 5 ms.
// CPU shares and stalls are judged on the release build (`swift build -c release` first).
import Foundation
import Glibc
import MPCore
import MPRuntime
import MPTestSupport
import Synchronization
import Testing
import MPLabSupport

/// The metrics port a daemon logged at start (`--metrics-port 0` picks one).
func loggedMetricsPort(of process: ChildProcess) -> UInt16? {
    var port: UInt16?
    _ = waitUntil(timeout: .seconds(5), poll: .milliseconds(20)) {
        guard let range = process.log.range(of: "http://127.0.0.1:") else { return false }
        port = UInt16(process.log[range.upperBound...].prefix { $0.isNumber })
        return port != nil
    }
    return port
}

/// Eight connections that send a request one byte at a time, as fast as the kernel takes
/// them, each opened again as soon as mpserver closes it (431 at 8 KB, or its deadline).
private final class TricklingPeers {
    private var sockets: [Int32] = []
    private let port: UInt16
    private(set) var bytesSent = 0
    private(set) var reconnections = 0
    private let request = Array("GET /metrics HTTP/1.1\r\nX-Filler: ".utf8)
    private var positions: [Int] = []

    init(count: Int, port: UInt16) {
        self.port = port
        for _ in 0..<count {
            sockets.append(connectLoopback())
            positions.append(0)
        }
    }

    deinit { for fd in sockets where fd >= 0 { _ = close(fd) } }

    private func connectLoopback() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var yes: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    /// Sends one byte on each connection in turn for `duration`.
    func trickle(for duration: Duration) {
        let deadline = Deadline(timeout: duration)
        var drain = [UInt8](repeating: 0, count: 4_096)
        while !deadline.hasPassed {
            for index in sockets.indices {
                // The header's value never ends: every byte after the prefix is an `a`.
                var byte = positions[index] < request.count ? request[positions[index]] : UInt8(ascii: "a")
                let sent = send(sockets[index], &byte, 1, Int32(MSG_NOSIGNAL))
                if sent == 1 {
                    bytesSent += 1
                    positions[index] += 1
                } else if sent < 0, errno != EAGAIN, errno != EWOULDBLOCK {
                    reopen(index)
                }
                if positions[index] % 512 == 0, recv(sockets[index], &drain, drain.count, 0) == 0 { reopen(index) }
            }
        }
    }

    private func reopen(_ index: Int) {
        _ = close(sockets[index])
        sockets[index] = connectLoopback()
        positions[index] = 0
        reconnections += 1
    }
}

@Suite("Control plane against the data path", .serialized)
struct ControlPlaneEndToEndTests {
    /// The most a scrape may hold mpserver's loop, in microseconds: 5 ms as issue 19 asks,
    /// judged on the release build (``releaseProductsDirectory()``): an unoptimized build
    /// renders the same page about seven times slower.
    static let holdLimitMicroseconds = 5_000

    struct TrickleResult {
        var share: Double
        var bytes: Int
        var reconnections: Int
        var scrapeAnswered: Bool
    }

    @Test("8 byte-by-byte metrics connections cost mpserver under 10% of a core", .tags(.timing))
    func byteByByteConnections() throws {
        let lab = TunnelLab(products: try releaseProductsDirectory())
        let echoPort = freeUDPPort()
        let server = try lab.startServer(port: freeUDPPort(), targetPort: echoPort, arguments: ["--metrics-port", "0"])
        let port = try #require(loggedMetricsPort(of: server), "\(lab.logs)")
        let result = try retryingAfterAHostPause(
            "byte-by-byte metrics connections",
            {
                let peers = TricklingPeers(count: 8, port: port)
                let wall = ContinuousClock.now
                let before = try #require(ProcessStats.cpuSeconds(pid: server.pid))
                peers.trickle(for: .seconds(3))
                let used = try #require(ProcessStats.cpuSeconds(pid: server.pid)) - before
                let share = used / wall.duration(to: .now).inSeconds
                // A scraper still gets its page while the eight trickle (the limit is theirs).
                let answered = httpGet(port: port)?.hasPrefix("HTTP/1.1 200 OK") ?? false
                return TrickleResult(
                    share: share, bytes: peers.bytesSent, reconnections: peers.reconnections, scrapeAnswered: answered)
            }, passes: { $0.share < 0.10 })
        print(
            "byte-by-byte: mpserver used \(Int((result.share * 1_000).rounded()) / 10)% of a core for "
                + "\(result.bytes) bytes on 8 connections (\(result.reconnections) reopened)")
        #expect(result.share < 0.10, "mpserver used \(result.share * 100)% of a core")
        #expect(result.bytes > 8 * 8_192, "the peers hardly sent (\(result.bytes) bytes)")
        #expect(server.isRunning, "\(lab.logs)")
    }

    struct ScrapeResult {
        /// The thread CPU time of the slowest scrape: its cost to the loop, whatever else ran.
        var worstHeldMicroseconds: Int
        /// The slowest scrape in time (includes any time the host gave other processes), and
        /// the median one.
        var worstWallMicroseconds: Int
        var medianWallMicroseconds: Int
        var largestPage: Int
        var worstRoundTrip: Duration
        var medianRoundTrip: Duration
        var scrapes: Int
    }

    @Test("with 4,096 sessions × 32 paths a scrape holds mpserver's loop under 5 ms", .tags(.timing))
    func scrapeOfManySessions() throws {
        let lab = TunnelLab(products: try releaseProductsDirectory())
        let echoPort = freeUDPPort()
        let serverPort = freeUDPPort()
        let listenPort = freeUDPPort()
        try lab.startEcho(port: echoPort)
        let server = try lab.startServer(port: serverPort, targetPort: echoPort, arguments: ["--metrics-port", "0"])
        try lab.startClient(listenPort: listenPort, pathPorts: [serverPort])
        #expect(try lab.waitForTunnel(listenPort: listenPort), "\(lab.logs)")
        let port = try #require(loggedMetricsPort(of: server), "\(lab.logs)")
        let crowd = try SessionCrowd(
            count: Defaults.maximumSessions - 1, pathsPerSession: Defaults.maximumPaths,
            server: .loopbackIPv4(port: serverPort))
        #expect(crowd.populate(timeout: .seconds(60)), "\(crowd.acceptedCount) sessions accepted")
        let prober = try Prober(to: .loopbackIPv4(port: listenPort))
        let result = try retryingAfterAHostPause(
            "scrape of 4,096 sessions", { try scrapeWhileEchoing(port: port, server: server, prober: prober) },
            passes: {
                $0.worstHeldMicroseconds < Self.holdLimitMicroseconds
                    && $0.medianWallMicroseconds < Self.holdLimitMicroseconds
            })
        print(
            "scrape of \(crowd.acceptedCount + 1) sessions: page \(result.largestPage) bytes, loop held at most "
                + "\(result.worstHeldMicroseconds) µs of CPU (in time: median \(result.medianWallMicroseconds) µs, "
                + "worst \(result.worstWallMicroseconds) µs) over \(result.scrapes) scrapes; echo round trip median "
                + "\(result.medianRoundTrip), worst \(result.worstRoundTrip)")
        let page = try #require(httpGet(port: port))
        #expect(
            metricValue(page, "mptunnel_server_sessions") == Double(Defaults.maximumSessions), "\(page.prefix(1_500))")
        #expect(metricValue(page, "mptunnel_server_sessions_listed") == Double(Defaults.maximumReportedSessions))
        #expect(result.largestPage < 400_000, "a page of \(result.largestPage) bytes")
        #expect(
            result.worstHeldMicroseconds < Self.holdLimitMicroseconds,
            "a scrape held the loop \(result.worstHeldMicroseconds) µs")
        #expect(
            result.medianWallMicroseconds < Self.holdLimitMicroseconds,
            "a median scrape held the loop \(result.medianWallMicroseconds) µs")
        let status = try lab.status(of: server)
        #expect(status.exitStatus == 0)
        #expect(status.text.contains("\n\(Defaults.maximumSessions - 64) quieter sessions not listed"))
        let statusCost = waitUntil(timeout: .seconds(5)) { server.log.contains("status table rendered") }
        let statusLine = server.log.split(separator: "\n").last { $0.contains("status table rendered") } ?? ""
        print("status of 4,096 sessions: \(status.text.utf8.count) bytes; \(statusLine)")
        #expect(statusCost && status.text.utf8.count < 400_000)
        #expect(server.isRunning, "\(lab.logs.suffix(3_000))")
    }

    /// Scrapes 50 ms apart.
    static let scrapes = 20

    /// Scrapes from another thread, 50 ms apart, while the application's echoes go round the
    /// tunnel one after another.
    private func scrapeWhileEchoing(port: UInt16, server: ChildProcess, prober: Prober) throws -> ScrapeResult {
        let marker = "metrics request answered"
        let linesBefore = server.log.components(separatedBy: marker).count
        let finished = Mutex(false)
        let pageSizes = Mutex<[Int]>([])
        let thread = Thread {
            for _ in 0..<Self.scrapes {
                let size = httpGet(port: port)?.utf8.count ?? 0
                pageSizes.withLock { $0.append(size) }
                sleep(for: .milliseconds(50))
            }
            finished.withLock { $0 = true }
        }
        thread.start()
        var roundTrips: [Duration] = []
        var number = 0
        let deadline = Deadline(timeout: .seconds(30))
        while !finished.withLock({ $0 }), !deadline.hasPassed {
            number += 1
            let sent = ContinuousClock.now
            let payload = Array("echo-\(number)".utf8)
            prober.send(payload)
            while let reply = prober.receive(timeout: .milliseconds(500)), reply != payload {}
            roundTrips.append(sent.duration(to: .now))
        }
        var held: [Int] = []
        var wall: [Int] = []
        waitUntil(timeout: .seconds(5)) {
            server.log.components(separatedBy: marker).count >= linesBefore + Self.scrapes
        }
        for line in server.log.split(separator: "\n").filter({ $0.contains(marker) }).suffix(Self.scrapes) {
            let counters = line.split(separator: " ").compactMap { token -> (String, Int)? in
                let parts = token.split(separator: "=", maxSplits: 1)
                return parts.count == 2 ? Int(parts[1]).map { (String(parts[0]), $0) } : nil
            }
            let values = Dictionary(counters, uniquingKeysWith: { first, _ in first })
            held.append(values["cpu-microseconds"] ?? .max)
            wall.append(values["held-microseconds"] ?? .max)
        }
        let sorted = roundTrips.sorted()
        return ScrapeResult(
            worstHeldMicroseconds: held.max() ?? .max, worstWallMicroseconds: wall.max() ?? .max,
            medianWallMicroseconds: wall.isEmpty ? .max : wall.sorted()[wall.count / 2],
            largestPage: pageSizes.withLock { $0.max() } ?? 0,
            worstRoundTrip: sorted.last ?? .zero, medianRoundTrip: sorted.isEmpty ? .zero : sorted[sorted.count / 2],
            scrapes: held.count)
    }
}
