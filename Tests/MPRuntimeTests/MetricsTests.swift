import Glibc
import MPCore
import MPTestSupport
import Testing

@testable import MPRuntime

@Suite("Prometheus metrics")
struct MetricsFormatTests {
    private func answer(_ request: String, body: String = "m 1\n") -> String? {
        MetricsResponse.answer(to: Array(request.utf8)) { body }
    }

    @Test func nothingIsAnsweredBeforeTheHeadersEnd() {
        #expect(answer("GET /metrics HTTP/1.1\r\nHost: x\r\n") == nil)
        #expect(answer("GET /met") == nil)
    }

    @Test func getMetricsIsAnsweredWithTheBodyAndItsLength() throws {
        let response = try #require(answer("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", body: "m 1\n"))
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Content-Type: text/plain; version=0.0.4"))
        #expect(response.contains("Content-Length: 4\r\n"))
        #expect(response.hasSuffix("\r\n\r\nm 1\n"))
        #expect(answer("GET /?x=1 HTTP/1.0\n\n")?.hasPrefix("HTTP/1.1 200 OK") == true)
        #expect(answer("HEAD /metrics HTTP/1.1\r\n\r\n")?.hasSuffix("\r\n\r\n") == true)
    }

    @Test(arguments: [
        ("POST /metrics HTTP/1.1\r\n\r\n", "405"), ("GET /status HTTP/1.1\r\n\r\n", "404"),
        ("hello\r\n\r\n", "400"), ("GET /metrics\r\n\r\n", "400"),
    ])
    func otherRequestsGetAnError(request: String, code: String) throws {
        let response = try #require(answer(request))
        #expect(response.hasPrefix("HTTP/1.1 \(code) "))
        #expect(!response.contains("m 1"))
    }

    @Test func samplesCarryEscapedLabelsAndPlainNumbers() {
        var page = PrometheusText()
        page.metric("x_total", "counter", help: "Things.")
        page.sample("x_total", 3, labels: ["endpoint": "a\"b\\c\nd", "path": "0"])
        page.sample("x_total", 0.25)
        #expect(
            page.text
                == "# HELP x_total Things.\n# TYPE x_total counter\n"
                + "x_total{endpoint=\"a\\\"b\\\\c\\nd\",path=\"0\"} 3\nx_total 0.25\n")
    }
}

/// Serialized: each test blocks its thread in the loop.
@Suite("Metrics endpoint", .serialized)
struct MetricsEndpointTests {
    /// Connects to `address`, sends `request`, and runs `loop` until the endpoint closes the
    /// connection; returns what came back.
    private func fetch(_ request: String, from address: SocketAddress, loop: EventLoop) throws -> String {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        try #require(client >= 0)
        defer { _ = close(client) }
        // A blocking connect to a listening loopback socket completes without the accept.
        try #require(address.withSockAddr { connect(client, $0, $1) } == 0)
        let bytes = Array(request.utf8)
        try #require(bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) } == bytes.count)
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        var received: [UInt8] = []
        let watcher = IOWatcher(loop: loop, fd: client) {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    received += chunk[0..<count]
                } else {
                    if count == 0 { loop.stop() }
                    return
                }
            }
        }
        watcher.start()
        defer { watcher.stop() }
        #expect(runLoop(loop, timeout: .seconds(10)), "the endpoint never closed the connection")
        return String(decoding: received, as: UTF8.self)
    }

    @Test func answersEachConnectionWithTheRenderedPage() throws {
        let loop = try EventLoop()
        var renders = 0
        let endpoint = try MetricsEndpoint(port: 0, loop: loop) {
            renders += 1
            return "mptunnel_test \(renders)\n"
        }
        #expect(endpoint.address.description.hasPrefix("127.0.0.1:"))
        let first = try fetch("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", from: endpoint.address, loop: loop)
        #expect(first.hasPrefix("HTTP/1.1 200 OK") && first.hasSuffix("\r\n\r\nmptunnel_test 1\n"))
        let second = try fetch("GET /metrics HTTP/1.1\r\n\r\n", from: endpoint.address, loop: loop)
        #expect(second.hasSuffix("mptunnel_test 2\n"))
        let missing = try fetch("GET /nothing HTTP/1.1\r\n\r\n", from: endpoint.address, loop: loop)
        #expect(missing.hasPrefix("HTTP/1.1 404"))
        #expect(renders == 2)
    }

    @Test func aPortInUseIsAnErrorNamingIt() throws {
        let loop = try EventLoop()
        let first = try MetricsEndpoint(port: 0, loop: loop) { "" }
        #expect {
            try MetricsEndpoint.open(port: first.address.port, loop: loop, logger: .init(label: "test")) { "" }
        } throws: { error in
            "\(error)".hasPrefix("metrics port 127.0.0.1:\(first.address.port): bind: ")
        }
    }

    @Test func daemonsRenderTheirCountersAsMetrics() throws {
        let loop = try EventLoop()
        let server = try ServerDaemon(
            settings: ServerSettings(
                listenPort: 0, listenHost: "127.0.0.1", target: Endpoint(host: "127.0.0.1", port: freeUDPPort())),
            loop: loop, logger: .init(label: "test"), metricsPort: 0)
        let configuration = ClientConfiguration(
            listen: Endpoint(host: "127.0.0.1", port: 0),
            paths: [
                PathConfiguration(
                    endpoint: Endpoint(host: "127.0.0.1", port: try server.listenAddress.port), lineNumber: 1)
            ])
        let client = try ClientDaemon(
            configuration: configuration, loop: loop, logger: .init(label: "test"), metricsPort: 0)
        let clientPage = try fetch(
            "GET /metrics HTTP/1.1\r\n\r\n", from: try #require(client.metrics).address, loop: loop)
        #expect(clientPage.contains("# TYPE mptunnel_client_path_up gauge\n"))
        #expect(clientPage.contains("mptunnel_client_path_frames_sent_total{path=\"0\",endpoint=\"127.0.0.1:"))
        #expect(clientPage.contains("mptunnel_client_session_accepted 0\n"))
        let serverPage = try fetch(
            "GET /metrics HTTP/1.1\r\n\r\n", from: try #require(server.metrics).address, loop: loop)
        #expect(serverPage.contains("mptunnel_server_sessions 0\n"))
        #expect(serverPage.contains("# TYPE mptunnel_server_path_frames_received_total counter\n"))
    }
}
