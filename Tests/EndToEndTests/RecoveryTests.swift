// Path recovery end to end: a bridge whose mapping for mpclient's path socket went stale
// (the tap drops everything from and to that source port, as a NAT that lost its state
// would) takes the path down; after ten probe intervals mpclient gives the path a new
// socket, the new source port gets a new mapping, mpserver follows the new address, and
// the path carries traffic again.
import Foundation
import MPCore
import MPRuntime
import MPTestSupport
import Testing

@Suite("Path recovery", .serialized)
struct RecoveryTests {
    /// What one run of the stale-mapping scenario saw.
    struct StaleMapping {
        var reopened = false
        var reopenedAfter = Duration.zero
        var working = false
        var workingAfter = Duration.zero
        var up = false
        var table = ""
        var logs = ""

        var passes: Bool { reopened && working && workingAfter < .seconds(4) && up }
    }

    @Test("a path whose bridge mapping went stale gets a new source port and works again", .tags(.timing))
    func staleMapping() throws {
        let result = try retryingAfterAHostPause("stale mapping", Self.staleMappingTrial, passes: \.passes)
        print(
            "stale mapping: reopened after \(result.reopenedAfter), traffic again after \(result.workingAfter)\n"
                + result.table)
        #expect(result.reopened, "\(result.logs)")
        #expect(result.working, "\(result.logs)")
        #expect(result.workingAfter < .seconds(4), "\(result.logs)")
        #expect(result.up, "\(result.table)")
    }

    /// One path through a tap; once the tunnel works, the tap blocks mpclient's source port.
    static func staleMappingTrial() throws -> StaleMapping {
        var result = StaleMapping()
        let lab = TunnelLab()
        let echoPort = freeUDPPort()
        let serverPort = freeUDPPort()
        let listenPort = freeUDPPort()
        try lab.startEcho(port: echoPort)
        try lab.startServer(port: serverPort, targetPort: echoPort)
        let tap = try TapRelay(to: .loopbackIPv4(port: serverPort))
        defer { withExtendedLifetime(tap) {} }
        // 200 ms probes: down after 0.5 s of silence, reopened after 2 s.
        let client = try lab.startClient(
            listenPort: listenPort, pathPorts: [tap.listenAddress.port], extraLines: ["probe-interval 200"])
        guard try lab.waitForTunnel(listenPort: listenPort) else {
            result.logs = lab.logs
            return result
        }
        tap.setRecording(false)
        tap.blockCurrentClient()
        let start = ContinuousClock.now
        result.reopened = waitUntil(timeout: .seconds(6), poll: .milliseconds(10)) {
            client.log.contains("silent path reopened on a new source port")
        }
        result.reopenedAfter = start.duration(to: .now)
        result.working = try lab.waitForTunnel(listenPort: listenPort, timeout: .seconds(5))
        result.workingAfter = start.duration(to: .now)
        result.up = waitUntil(timeout: .seconds(2), poll: .milliseconds(50)) {
            result.table = (try? lab.status(of: client).text) ?? ""
            return TunnelLab.pathRow(0, in: result.table)?[3] == "up"
        }
        result.logs = lab.logs
        return result
    }
}
