// Prometheus metrics end to end: both daemons started with --metrics-port 0 (a free port,
// logged), a tunnel with traffic, and the pages fetched over HTTP from 127.0.0.1.
import Foundation
import MPCore
import MPTestSupport
import Testing

@Suite("Prometheus metrics", .serialized)
struct MetricsEndToEndTests {
    @Test("both daemons serve their counters on a loopback port")
    func pagesOfARunningTunnel() throws {
        let lab = TunnelLab()
        let echoPort = freeUDPPort()
        let serverPort = freeUDPPort()
        let listenPort = freeUDPPort()
        try lab.startEcho(port: echoPort)
        let server = try lab.startServer(port: serverPort, targetPort: echoPort, arguments: ["--metrics-port", "0"])
        let client = try lab.startClient(
            listenPort: listenPort, pathPorts: [serverPort], arguments: ["--metrics-port", "0"])
        #expect(try lab.waitForTunnel(listenPort: listenPort), "\(lab.logs)")
        let clientPort = try #require(loggedMetricsPort(of: client), "\(lab.logs)")
        let serverMetricsPort = try #require(loggedMetricsPort(of: server), "\(lab.logs)")

        let clientPage = try #require(httpGet(port: clientPort), "no answer on 127.0.0.1:\(clientPort)")
        #expect(clientPage.hasPrefix("HTTP/1.1 200 OK\r\n"))
        let path = "{path=\"0\",endpoint=\"127.0.0.1:\(serverPort)\"}"
        #expect(metricValue(clientPage, "mptunnel_client_path_up" + path) == 1, "\(clientPage)")
        #expect((metricValue(clientPage, "mptunnel_client_path_frames_sent_total" + path) ?? 0) > 0)
        #expect((metricValue(clientPage, "mptunnel_client_path_frames_received_total" + path) ?? 0) > 0)
        #expect(metricValue(clientPage, "mptunnel_client_session_accepted") == 1)
        #expect(metricValue(clientPage, "mptunnel_client_paths_up") == 1)

        let serverPage = try #require(httpGet(port: serverMetricsPort), "no answer on 127.0.0.1:\(serverMetricsPort)")
        #expect(metricValue(serverPage, "mptunnel_server_sessions") == 1, "\(serverPage)")
        #expect(serverPage.contains("mptunnel_server_path_frames_received_total{session=\""))
        print("metrics: mpclient on 127.0.0.1:\(clientPort), mpserver on 127.0.0.1:\(serverMetricsPort)")
        #expect(httpGet(port: clientPort, path: "/other")?.hasPrefix("HTTP/1.1 404") == true)
    }

    @Test("a metrics port already taken stops the start with a message naming it")
    func portInUse() throws {
        let lab = TunnelLab()
        let taken = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { _ = close(taken) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(taken, $0, length) == 0 && listen(taken, 1) == 0 && getsockname(taken, $0, &length) == 0
            }
        }
        try #require(bound)
        let port = UInt16(bigEndian: address.sin_port)
        let server = try lab.startServer(
            port: freeUDPPort(), targetPort: freeUDPPort(), arguments: ["--metrics-port", "\(port)"])
        let exited = waitUntil(timeout: .seconds(10), poll: .milliseconds(20)) { !server.isRunning }
        #expect(exited, "mpserver kept running on a taken metrics port")
        #expect(server.log.contains("metrics port 127.0.0.1:\(port): bind: Address already in use"), "\(server.log)")
    }
}
