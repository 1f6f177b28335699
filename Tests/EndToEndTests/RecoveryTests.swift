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
    @Test("a path whose bridge mapping went stale gets a new source port and works again")
    func staleMapping() throws {
        let lab = TunnelLab()
        let echoPort = freeUDPPort()
        let serverPort = freeUDPPort()
        let listenPort = freeUDPPort()
        try lab.startEcho(port: echoPort)
        try lab.startServer(port: serverPort, targetPort: echoPort)
        let tap = try TapRelay(to: .loopbackIPv4(port: serverPort))
        // 200 ms probes: down after 0.5 s of silence, reopened after 2 s.
        let client = try lab.startClient(
            listenPort: listenPort, pathPorts: [tap.listenAddress.port], extraLines: ["probe-interval 200"])
        #expect(try lab.waitForTunnel(listenPort: listenPort), "\(lab.logs)")
        tap.setRecording(false)
        tap.blockCurrentClient()
        let start = ContinuousClock.now
        let reopened = waitUntil(timeout: .seconds(6), poll: .milliseconds(10)) {
            client.log.contains("silent path reopened on a new source port")
        }
        let reopenedAfter = start.duration(to: .now)
        let working = try lab.waitForTunnel(listenPort: listenPort, timeout: .seconds(5))
        let workingAfter = start.duration(to: .now)
        var table = ""
        let up = waitUntil(timeout: .seconds(2), poll: .milliseconds(50)) {
            table = (try? lab.status(of: client).text) ?? ""
            return TunnelLab.pathRow(0, in: table)?[3] == "up"
        }
        print("stale mapping: reopened after \(reopenedAfter), traffic again after \(workingAfter)\n\(table)")
        #expect(reopened, "\(lab.logs)")
        #expect(working, "\(lab.logs)")
        #expect(workingAfter < .seconds(4), "\(lab.logs)")
        #expect(up, "\(table)")
        withExtendedLifetime(tap) {}
    }
}
