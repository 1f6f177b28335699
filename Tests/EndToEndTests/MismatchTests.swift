import Foundation
import Glibc
import MPCore
import MPRuntime
import MPTestSupport
import Testing
import MPLabSupport

/// A misconfigured tunnel says why in its logs, within seconds, once per warning interval:
/// a key on one side only, two different keys, another protocol version.
@Suite("Mismatches name their cause", .serialized)
struct MismatchTests {
    static let sealedAtKeylessServer = "dropped a sealed frame: the peer has a key and this side has none"
    static let unsealedAtKeyedServer = "dropped an unsealed frame: this side has a key and the peer has none"
    static let wrongKey = "dropped a frame that does not authenticate: different keys on the two sides"
    static let silence =
        "no authentic reply from mpserver on any path for 5 s: wrong key, mpserver down or port blocked"
    static let heardAgain = "authentic replies from mpserver again"

    /// mpserver and mpclient (one direct path) with the given keys, and an echo target.
    struct Pair {
        let lab = TunnelLab()
        let echoPort = freeUDPPort()
        let serverPort = freeUDPPort()
        let listenPort = freeUDPPort()
        var server: ChildProcess?
        var client: ChildProcess?
        let start = ContinuousClock.now

        init(
            server serverKey: (TunnelLab) throws -> KeyChoice, client clientKey: (TunnelLab) throws -> KeyChoice
        ) throws {
            try lab.startEcho(port: echoPort)
            server = try lab.startServer(port: serverPort, targetPort: echoPort, key: serverKey(lab))
            client = try lab.startClient(listenPort: listenPort, pathPorts: [serverPort], key: clientKey(lab))
        }
    }

    func describe(_ seconds: Double?) -> String { seconds.map { String(format: "%.2f s", $0) } ?? "never" }

    @Test("a key on mpclient only: mpserver names it, mpclient warns of silence")
    func keyOnClientOnly() throws {
        let pair = try Pair(server: { _ in .none }, client: { .file(try $0.makeKeyFile(named: "key")) })
        let serverLine = secondsUntilLog(pair.server, contains: Self.sealedAtKeylessServer, since: pair.start)
        let clientLine = secondsUntilLog(pair.client, contains: Self.silence, since: pair.start)
        print(
            "key on mpclient only: mpserver's line after \(describe(serverLine)), "
                + "mpclient's silence warning after \(describe(clientLine))")
        #expect((serverLine ?? 99) < 3, "\(pair.lab.logs)")
        #expect((clientLine ?? 99) < 8, "\(pair.lab.logs)")
        #expect(logLines(pair.server, containing: Self.sealedAtKeylessServer) == 1, "rate-limited: \(pair.lab.logs)")
    }

    @Test("a key on mpserver only: mpserver names it and answers nothing, mpclient warns of silence")
    func keyOnServerOnly() throws {
        let pair = try Pair(server: { .file(try $0.makeKeyFile(named: "key")) }, client: { _ in .none })
        let serverLine = secondsUntilLog(pair.server, contains: Self.unsealedAtKeyedServer, since: pair.start)
        let clientLine = secondsUntilLog(pair.client, contains: Self.silence, since: pair.start)
        print(
            "key on mpserver only: mpserver's line after \(describe(serverLine)), "
                + "mpclient's silence warning after \(describe(clientLine))")
        #expect((serverLine ?? 99) < 3, "\(pair.lab.logs)")
        #expect((clientLine ?? 99) < 8, "\(pair.lab.logs)")
        #expect(logLines(pair.server, containing: Self.unsealedAtKeyedServer) == 1, "rate-limited: \(pair.lab.logs)")
    }

    @Test("two different keys: mpserver names it, mpclient warns of silence, then says when replies come back")
    func differentKeys() throws {
        var clientKey = ""
        var pair = try Pair(
            server: { .file(try $0.makeKeyFile(named: "server-key")) },
            client: {
                clientKey = try $0.makeKeyFile(named: "client-key")
                return .file(clientKey)
            })
        let serverLine = secondsUntilLog(pair.server, contains: Self.wrongKey, since: pair.start)
        let clientLine = secondsUntilLog(pair.client, contains: Self.silence, since: pair.start)
        #expect((serverLine ?? 99) < 3, "\(pair.lab.logs)")
        #expect((clientLine ?? 99) < 8, "\(pair.lab.logs)")
        #expect(logLines(pair.server, containing: Self.wrongKey) == 1, "rate-limited: \(pair.lab.logs)")
        #expect(logLines(pair.client, containing: Self.silence) == 1, "once per silence: \(pair.lab.logs)")
        // The user fixes mpserver's key: mpclient says replies are back.
        pair.server?.stop()
        let restart = ContinuousClock.now
        pair.server = try pair.lab.startServer(port: pair.serverPort, targetPort: pair.echoPort, key: .file(clientKey))
        let backLine = secondsUntilLog(pair.client, contains: Self.heardAgain, since: restart)
        print(
            "two different keys: mpserver's line after \(describe(serverLine)), mpclient's silence warning after "
                + "\(describe(clientLine)); replies-again line \(describe(backLine)) "
                + "after mpserver restarted with the right key")
        #expect((backLine ?? 99) < 3, "\(pair.lab.logs)")
        #expect(try pair.lab.waitForTunnel(listenPort: pair.listenPort))
    }

    @Test("a frame of protocol version 3 at mpserver and, through a path, at mpclient: each names both versions once")
    func versionMismatch() throws {
        let fixture = try AttackFixture()
        #expect(fixture.secondsUntilTraffic() != nil, "\(fixture.lab.logs)")
        let line = "dropped a frame of protocol version 3; this build speaks version \(FrameLayout.version)"
        var frame = [UInt8](repeating: 0, count: FrameLayout.maximumOverhead + 8)
        frame[FrameLayout.versionOffset] = 3
        frame[FrameLayout.typeOffset] = FrameType.upstreamData.rawValue
        let stranger = try strangerSocket()
        let serverStart = ContinuousClock.now
        for _ in 0..<1_000 { stranger.send(frame, to: .loopbackIPv4(port: fixture.serverPort)) }
        let serverLine = secondsUntilLog(fixture.server, contains: line, since: serverStart)
        frame[FrameLayout.typeOffset] = FrameType.downstreamData.rawValue
        let clientStart = ContinuousClock.now
        for _ in 0..<1_000 { fixture.tap.sendToClient(frame) }
        let clientLine = secondsUntilLog(fixture.client, contains: line, since: clientStart)
        let answers = stranger.drainCount(timeout: .milliseconds(200))
        print(
            "version 3 frames (1,000 each): mpserver's line after \(describe(serverLine)), "
                + "mpclient's after \(describe(clientLine)); answers \(answers)")
        #expect((serverLine ?? 99) < 2, "\(fixture.lab.logs)")
        #expect((clientLine ?? 99) < 2, "\(fixture.lab.logs)")
        #expect(logLines(fixture.server, containing: line) == 1)
        #expect(logLines(fixture.client, containing: line) == 1)
        #expect(answers == 0)
        #expect(fixture.probe(timeout: .seconds(2)))
    }
}
