// The control plane against slow and greedy local peers: a request trickled one byte at a
// time, an oversized request, more connections than the limit, connections that never
// finish, and a scrape of an mpserver with more sessions than it lists.
import Glibc
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

/// A TCP connection to 127.0.0.1 for tests that run the endpoint's loop on the same thread.
private final class LocalClient {
    let fd: Int32
    private(set) var received: [UInt8] = []
    private(set) var isClosed = false

    init(_ address: SocketAddress) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        // A blocking connect to a listening loopback socket completes without the accept.
        try #require(address.withSockAddr { connect(fd, $0, $1) } == 0)
        var yes: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { _ = close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads what is waiting; notes when the endpoint closed the connection.
    func read() {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while !isClosed {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += chunk[..<count]
            } else {
                if count == 0 || (errno != EAGAIN && errno != EINTR) { isClosed = true }
                return
            }
        }
    }

    var text: String { String(decoding: received, as: UTF8.self) }
}

/// Runs `loop` in steps of a millisecond, calling `step` after each, until `step` returns
/// true or `timeout` passes; returns whether it did.
@discardableResult
private func runSteps(_ loop: EventLoop, timeout: Duration = .seconds(10), _ step: () -> Bool) -> Bool {
    let deadline = Deadline(timeout: timeout)
    while !deadline.hasPassed {
        runLoop(loop, timeout: .milliseconds(1))
        if step() { return true }
    }
    return false
}

/// Serialized: each test blocks its thread in the loop.
@Suite("Control plane under hostile local peers", .serialized)
struct ControlPlaneTests {
    @Test("a request sent one byte at a time is answered once, correctly")
    func byteByByte() throws {
        let loop = try EventLoop()
        var renders = 0
        let endpoint = try MetricsEndpoint(port: 0, loop: loop) {
            renders += 1
            return "mptunnel_test 1\n"
        }
        let client = try LocalClient(endpoint.address)
        var remaining = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n")
        let answered = runSteps(loop) {
            if !remaining.isEmpty { client.send(String(remaining.removeFirst())) }
            client.read()
            return client.isClosed
        }
        #expect(answered, "no answer to a trickled request")
        #expect(client.text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(client.text)")
        #expect(client.text.hasSuffix("\r\n\r\nmptunnel_test 1\n"))
        #expect(renders == 1)
    }

    @Test("the head scanner looks at each byte once and finds either line ending")
    func scanner() {
        for request in ["GET / HTTP/1.1\r\nA: b\r\n\r\n", "GET / HTTP/1.0\n\n", "GET / HTTP/1.1\r\n\n"] {
            let bytes = Array(request.utf8)
            var scanner = RequestHeadScanner()
            var found: Int?
            for end in 1...bytes.count where found == nil {
                found = bytes.withUnsafeBytes { scanner.scan(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
                #expect(scanner.scanned == end, "rescanned or skipped at \(end)")
            }
            #expect(found != nil, "\(request.debugDescription)")
        }
        var scanner = RequestHeadScanner()
        #expect(Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8).withUnsafeBytes { scanner.scan($0) } == nil)
    }

    @Test("a request longer than 8 KB is answered 431 and closed, the buffer never grows")
    func oversized() throws {
        let loop = try EventLoop()
        let endpoint = try MetricsEndpoint(port: 0, loop: loop) { "m 1\n" }
        let client = try LocalClient(endpoint.address)
        client.send("GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: Defaults.maximumMetricsRequestSize))
        #expect(
            runSteps(loop) {
                client.read()
                return client.isClosed
            })
        #expect(client.text.hasPrefix("HTTP/1.1 431 "), "\(client.text)")
    }

    @Test("past 8 connections one is closed unanswered; each is closed 5 s after its accept")
    func connectionLimitAndDeadline() throws {
        let loop = try EventLoop()
        let endpoint = try MetricsEndpoint(port: 0, loop: loop) { "m 1\n" }
        let started = ContinuousClock.now
        let idle = try (0..<Defaults.maximumControlConnections).map { _ in try LocalClient(endpoint.address) }
        for client in idle { client.send("G") }
        runLoop(loop, timeout: .milliseconds(50))
        let extra = try LocalClient(endpoint.address)
        #expect(
            runSteps(loop, timeout: .seconds(2)) {
                extra.read()
                return extra.isClosed
            })
        #expect(extra.received.isEmpty, "refused, not answered")
        #expect(idle.allSatisfy { !$0.isClosed }, "the first eight are still waiting")
        // Nothing else arrives: the deadline alone must close the eight.
        let closed = runSteps(loop, timeout: .seconds(8)) {
            for client in idle { client.read() }
            return idle.allSatisfy(\.isClosed)
        }
        let lifetime = started.duration(to: .now)
        #expect(closed, "connections outlived their deadline")
        #expect(lifetime >= .milliseconds(4_900) && lifetime < .milliseconds(6_500), "closed after \(lifetime)")
        let late = try LocalClient(endpoint.address)
        late.send("GET /metrics HTTP/1.1\r\n\r\n")
        #expect(
            runSteps(loop) {
                late.read()
                return late.isClosed
            })
        #expect(late.text.hasPrefix("HTTP/1.1 200 OK"), "the limit is free again")
    }

    @Test("control socket replies a peer never reads are closed at the deadline too")
    func controlSocketDeadline() throws {
        let folder = makeTemporaryDirectory(prefix: "mptunnel-control")
        defer { _ = rmdir(folder) }
        let loop = try EventLoop()
        let path = folder + "/slow.sock"
        let text = String(repeating: "0123456789abcdef\n", count: 200_000)
        let control = try ControlSocket(path: path, loop: loop) { text }
        let readers = try (0..<Defaults.maximumControlConnections).map { _ in
            try ControlSocketTests.connectClient(path)
        }
        defer { for fd in readers { _ = close(fd) } }
        runLoop(loop, timeout: .milliseconds(50))
        let extra = try ControlSocketTests.connectClient(path)
        defer { _ = close(extra) }
        #expect(ControlSocketTests.readReply(extra, loop: loop).isEmpty, "the ninth is refused unanswered")
        runLoop(loop, timeout: .milliseconds(5_500))
        for fd in readers {
            // The part the socket buffers held, then the end: the daemon closed it.
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var total = 0
            var sawEnd = false
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 { total += count } else { sawEnd = count == 0; break }
            }
            #expect(sawEnd && total < text.utf8.count, "a reply never taken was still open (\(total) bytes)")
        }
        withExtendedLifetime(control) {}
    }

    @Test("a scrape of 100 sessions × 32 paths lists the busiest 64, totals, and stays under the cap")
    func boundedScrape() throws {
        let loop = try EventLoop()
        let server = try ServerDaemon(
            settings: ServerSettings(
                listenPort: 0, listenHost: "127.0.0.1", target: Endpoint(host: "127.0.0.1", port: freeUDPPort())),
            loop: loop, logger: .init(label: "test"), metricsPort: 0)
        // Only the listen socket's watcher: start() would also take the process's signals,
        // which another suite's loop may hold while the tests run in parallel.
        let listening = IOWatcher(loop: loop, fd: server.listenSocket.fd) { server.listenReadable() }
        listening.start()
        defer { listening.stop() }
        let crowd = try SessionCrowd(count: 100, pathsPerSession: 32, server: try server.listenAddress)
        #expect(crowd.populate { runLoop(loop, timeout: .milliseconds(1)) })
        runLoop(loop, timeout: .milliseconds(100))
        let client = try LocalClient(try #require(server.metrics).address)
        client.send("GET /metrics HTTP/1.1\r\n\r\n")
        #expect(
            runSteps(loop) {
                client.read()
                return client.isClosed
            })
        let page = client.text
        #expect(metricValue(page, "mptunnel_server_sessions") == 100, "\(page.prefix(2_000))")
        #expect(metricValue(page, "mptunnel_server_sessions_listed") == 64)
        // Each session: a probe per path, all fresh (the acceptance probe is answered, not counted).
        #expect(metricValue(page, "mptunnel_server_sessions_frames_received") == 3_200)
        let samples = page.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(samples.count <= Defaults.maximumSeriesPerScrape, "\(samples.count) samples")
        #expect(samples.count(where: { $0.hasPrefix("mptunnel_server_session_payloads_delivered_total{") }) == 64)
        let perPath = samples.count(where: { $0.hasPrefix("mptunnel_server_path_frames_received_total{") })
        let omitted = try #require(metricValue(page, "mptunnel_server_path_series_omitted"))
        #expect(
            perPath < 64 * 32 && Double((64 * 32 - perPath) * ServerDaemon.pathMetrics.count) == omitted,
            "\(perPath) listed, \(omitted) omitted")
        let status = server.statusText()
        #expect(status.contains("all sessions: received=3200 "), "\(status.prefix(500))")
        #expect(status.contains("\n36 quieter sessions not listed"))
        #expect(status.components(separatedBy: "\nsession=").count - 1 == 64)
    }
}
