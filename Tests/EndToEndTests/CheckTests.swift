// `mpclient --check` as a user runs it: the built binary against mplab relays and mpserver
// on loopback, its table read from its output and its exit code from its status.
import MPCore
import MPRuntime
import MPTestSupport
import Testing
import MPLabSupport

@Suite("mpclient --check tells the cases apart", .serialized)
struct CheckTests {
    /// Echo target, mpserver (unless `server` is false) and `relays` mplab relays to it.
    final class Setup {
        let lab: TunnelLab
        let echoPort = freeUDPPort()
        let serverPort = freeUDPPort()
        let listenPort = freeUDPPort()
        var relayPorts: [UInt16] = []
        var relays: [ChildProcess] = []

        init(relays count: Int, server: Bool = true, serverKey: KeyChoice = .lab, keyed: Bool = false) throws {
            lab = try TunnelLab(keyed: keyed)
            var started = [try lab.startEcho(port: echoPort)]
            if server { started.append(try lab.startServer(port: serverPort, targetPort: echoPort, key: serverKey)) }
            for index in 0..<count {
                let port = freeUDPPort()
                relays.append(try lab.startRelay(listenPort: port, targetPort: serverPort, seed: index + 1))
                relayPorts.append(port)
            }
            // A probe that reaches a process not yet listening would draw a refusal the
            // verdicts do not expect.
            let listening = waitUntil(timeout: .seconds(10)) {
                (started + relays).allSatisfy { $0.log.contains("listening") }
            }
            if !listening { Issue.record("not all listening:\n\(lab.logs)") }
        }

        /// Writes a config with one path per port (the relays by default) and a `key-file`
        /// line for `key`, runs `mpclient --check` on it, and returns its exit status and output.
        /// `serve` runs every few milliseconds while the check runs.
        func check(
            pathPorts: [UInt16]? = nil, key: String? = nil, serve: () -> Void = {}
        ) throws -> (status: Int32?, output: String) {
            let config = "\(lab.directory)/check.conf"
            let paths = (pathPorts ?? relayPorts).map { "127.0.0.1 \($0)" }
            let lines = ["listen 127.0.0.1 \(listenPort)"] + paths + (key.map { ["key-file \($0)"] } ?? [])
            try writeFile(config, lines.joined(separator: "\n") + "\n")
            let process = try lab.start("mpclient", ["--check", config])
            waitUntil(timeout: .seconds(20), poll: .milliseconds(2)) {
                serve()
                return !process.isRunning
            }
            let status = process.waitForExit(timeout: .seconds(1))
            print("mpclient --check exited with \(status.map { "\($0)" } ?? "nothing"):\n\(process.log)")
            return (status, process.log)
        }
    }

    /// The table row of path `path` (it starts with the path id and holds its endpoint).
    static func row(_ path: Int, port: UInt16, in output: String) -> String {
        output.split(separator: "\n").first { $0.hasPrefix("\(path) ") && $0.contains("127.0.0.1:\(port)") }
            .map(String.init) ?? ""
    }

    /// Whether `row` has `verdict` in its verdict column (cells are two or more spaces apart).
    static func has(_ verdict: String, _ row: String) -> Bool {
        row.contains("  \(verdict)  ")
    }

    @Test("all paths fine, beside a running mpclient: three ok rows, exit 0", .tags(.timing))
    func allFine() throws {
        let setup = try Setup(relays: 3)
        // The real mpclient on the same listen port: the check must not need it.
        try setup.lab.startClient(listenPort: setup.listenPort, pathPorts: setup.relayPorts)
        #expect(try setup.lab.waitForTunnel(listenPort: setup.listenPort), "\(setup.lab.logs)")
        let (status, output) = try retryingAfterAHostPause(
            "--check, all fine", { try setup.check() }, passes: { $0.status == 0 })
        #expect(status == 0, "\(setup.lab.logs)")
        for (index, port) in setup.relayPorts.enumerated() {
            let row = Self.row(index, port: port, in: output)
            #expect(Self.has("ok", row) && row.contains(" ms "), "path \(index): \(row)")
        }
        #expect(output.contains("all 3 paths work: mpserver answers on each"))
    }

    @Test("one bridge down: its row refused, the others ok, the summary names it, exit 2", .tags(.timing))
    func oneBridgeDown() throws {
        let setup = try Setup(relays: 3)
        setup.relays[1].kill9()
        let (status, output) = try retryingAfterAHostPause(
            "--check, one bridge down", { try setup.check() }, passes: { $0.status == 2 })
        #expect(status == 2, "\(setup.lab.logs)")
        let down = Self.row(1, port: setup.relayPorts[1], in: output)
        #expect(Self.has("refused", down) && down.contains("bridge or mpserver down?"), "\(down)")
        #expect(Self.has("ok", Self.row(0, port: setup.relayPorts[0], in: output)))
        #expect(Self.has("ok", Self.row(2, port: setup.relayPorts[2], in: output)))
        #expect(
            output.contains(
                "1 of 3 paths fails (1: 127.0.0.1:\(setup.relayPorts[1])): bridge down or blocked; "
                    + "mpserver answers on the other paths"))
    }

    @Test("mpserver down behind live bridges: every row no answer, the summary says mpserver down, exit 1")
    func serverDown() throws {
        let setup = try Setup(relays: 3, server: false)
        let (status, output) = try setup.check()
        #expect(status == 1, "\(setup.lab.logs)")
        for (index, port) in setup.relayPorts.enumerated() {
            #expect(Self.has("no answer", Self.row(index, port: port, in: output)), "path \(index)")
        }
        #expect(output.contains("no path works: mpserver down or its port blocked"))
        // A direct path to the stopped mpserver: nothing listens there.
        let (directStatus, direct) = try setup.check(pathPorts: [setup.serverPort])
        #expect(directStatus == 1)
        #expect(Self.has("refused", Self.row(0, port: setup.serverPort, in: direct)), "\(direct)")
        #expect(direct.contains("nothing listens at any path's address: mpserver down"))
    }

    @Test("keys that differ: mpserver stays silent, so no answer, with the key in the summary's hint")
    func keyMismatch() throws {
        let setup = try Setup(relays: 2, keyed: true)
        let otherKey = try setup.lab.makeKeyFile(named: "other-key")
        let (status, output) = try setup.check(key: otherKey)
        #expect(status == 1, "\(setup.lab.logs)")
        #expect(Self.has("no answer", Self.row(0, port: setup.relayPorts[0], in: output)))
        #expect(output.contains("or mpserver has another key or none"))
        let (keylessStatus, keyless) = try setup.check()
        #expect(keylessStatus == 1)
        #expect(keyless.contains("or mpserver has a key and this side none"))
        let (rightStatus, right) = try setup.check(key: setup.lab.keyFile)
        #expect(rightStatus == 0, "\(right)")
        #expect(right.contains("with a key"))
    }

    @Test(
        "something else answers: an echo and a newer protocol version are rejected rows; the summary names the version")
    func rejected() throws {
        let setup = try Setup(relays: 0, server: false)
        let echoTarget = try setup.lab.startEcho(port: setup.serverPort)
        #expect(waitUntil(timeout: .seconds(10)) { echoTarget.log.contains("listening") }, "\(setup.lab.logs)")
        // A stand-in for an mpserver of protocol version 3: answers every frame with its
        // bytes, version byte set to 3.
        let newer = try strangerSocket()
        let newerPort = try newer.localAddress.port
        var buffer = [UInt8](repeating: 0, count: 2_048)
        let serve = {
            buffer.withUnsafeMutableBytes { raw in
                for _ in 0..<64 {
                    guard case .datagram(let length, let source) = newer.receive(into: raw), length <= raw.count
                    else { return }
                    raw[FrameLayout.versionOffset] = 3
                    _ = newer.send(UnsafeRawBufferPointer(rebasing: raw[0..<length]), to: source)
                }
            }
        }
        let (status, output) = try setup.check(pathPorts: [setup.serverPort, newerPort], serve: serve)
        #expect(status == 1, "\(setup.lab.logs)")
        let echo = Self.row(0, port: setup.serverPort, in: output)
        #expect(Self.has("rejected", echo) && echo.contains("our own frames come back"), "\(echo)")
        let version = Self.row(1, port: newerPort, in: output)
        #expect(Self.has("rejected", version) && version.contains("answers in protocol version 3"), "\(version)")
        #expect(output.contains("no path works: mpserver speaks protocol version 3, this build \(FrameLayout.version)"))
    }
}
