// The scale phase, for `mplab sessions` and `mplab bench`: one mpserver (a child process)
// in front of an echo target, and a simulator of many sessions in this process. mpserver's
// resident memory is read once it answers a single pilot session, and again with every
// simulated session alive after the load: the difference over the count is the cost of
// one session (its state, its dedup window, its flow and that flow's socket to the target).
import Glibc
import MPCore
import MPLabSupport
import MPRuntime

struct SessionsSettings {
    var count: Int
    var ratePerSession: Double
    var seconds: Double
    var size: Int
    /// Seconds to wait for every session to be accepted, and for the last echoes.
    static let acceptanceTimeout = 20.0
    static let settleSeconds = 1.0
}

struct SessionsResult {
    let count: Int
    let sealing: BenchSealing
    let ratePerSession: Double
    let accepted: Int
    let sent: Int
    let echoesPerSession: [Int]
    let sentPerSession: [Int]
    let misdelivered: Int
    /// mpserver's resident kilobytes with one pilot session, and with every session.
    let residentBefore: Int
    let residentAfter: Int
    let serverCoreShare: Double

    private var sortedEchoes: [Int] { echoesPerSession.sorted() }
    var minimumEchoes: Int { sortedEchoes.first ?? 0 }
    var medianEchoes: Int { sortedEchoes.isEmpty ? 0 : sortedEchoes[sortedEchoes.count / 2] }
    var maximumEchoes: Int { sortedEchoes.last ?? 0 }
    /// Sessions that got back an echo of every payload they sent.
    var completeSessions: Int { zip(echoesPerSession, sentPerSession).count { $0 >= $1 && $1 > 0 } }
    var kilobytesPerSession: Double { Double(residentAfter - residentBefore) / Double(max(count, 1)) }

    var summary: String {
        "\(count) sessions (\(sealing.rawValue)): \(accepted) accepted, \(completeSessions) got every echo, "
            + "echoes per session min \(minimumEchoes) median \(medianEchoes) max \(maximumEchoes), "
            + "\(misdelivered) misdelivered; mpserver \(residentBefore) KB -> \(residentAfter) KB "
            + "(\(decimal(kilobytesPerSession)) KB per session), \(percent(serverCoreShare, digits: 0)) of a core"
    }

    var json: JSONValue {
        .object([
            ("sessions", .integer(count)), ("sealing", .string(sealing.rawValue)),
            ("ratePerSession", .number(ratePerSession)), ("accepted", .integer(accepted)), ("sent", .integer(sent)),
            ("completeSessions", .integer(completeSessions)), ("minimumEchoes", .integer(minimumEchoes)),
            ("medianEchoes", .integer(medianEchoes)), ("maximumEchoes", .integer(maximumEchoes)),
            ("misdelivered", .integer(misdelivered)), ("serverResidentKilobytesBefore", .integer(residentBefore)),
            ("serverResidentKilobytesAfter", .integer(residentAfter)),
            ("kilobytesPerSession", .number(kilobytesPerSession)), ("serverCoreShare", .number(serverCoreShare)),
        ])
    }
}

struct SessionsRun {
    let settings: SessionsSettings
    let workspace: DemoWorkspace
    let lab: LabLoop

    func run(sealing: BenchSealing) throws -> SessionsResult {
        let echo = try EchoServer(listen: .loopbackIPv4(port: 0), loop: lab.loop)
        let key = sealing == .sealed ? try PreSharedKey.generate() : nil
        let keyring = Keyring(key: key)
        let server = SocketAddress.loopbackIPv4(port: try DemoWorkspace.freeLoopbackPort())
        var arguments = ["\(server.port)", "127.0.0.1", "\(echo.address.port)", "--bind", "127.0.0.1"]
        arguments += ["--log-level", "warning"]
        if let key { arguments += ["--key-file", try writeKeyFile(key, name: "sessions")] }
        let children = ChildGroup()
        defer { children.stopAll() }
        let mpserver = try ChildProcess.spawn(
            name: "mpserver", executable: workspace.serverBinary, arguments: arguments,
            logPath: workspace.directory + "/sessions-\(sealing.rawValue)-mpserver.log")
        children.add(mpserver)
        let pilot = try SessionSimulator(count: 1, size: settings.size, server: server, keyring: keyring, lab: lab)
        pilot.start()
        pilot.waitUntilAccepted(timeout: SessionsSettings.acceptanceTimeout)
        guard pilot.acceptedCount == 1, !mpserver.hasExited else {
            throw LabError("mpserver did not accept a session (\(mpserver.state), log: \(mpserver.logPath))")
        }
        let before = ProcessStats.residentKilobytes(pid: mpserver.pid) ?? 0
        return try measure(sealing: sealing, keyring: keyring, server: server, mpserver: mpserver, before: before)
    }

    private func measure(
        sealing: BenchSealing, keyring: Keyring, server: SocketAddress, mpserver: ChildProcess, before: Int
    ) throws -> SessionsResult {
        let simulator = try SessionSimulator(
            count: settings.count, size: settings.size, server: server, keyring: keyring, lab: lab)
        simulator.start()
        simulator.waitUntilAccepted(timeout: SessionsSettings.acceptanceTimeout)
        let cpuBefore = CPUSample([(name: "mpserver", pid: mpserver.pid)])
        simulator.send(
            ratePerSession: settings.ratePerSession, seconds: settings.seconds, settle: SessionsSettings.settleSeconds)
        let used = CPUSample([(name: "mpserver", pid: mpserver.pid)]).since(cpuBefore)
        let after = ProcessStats.residentKilobytes(pid: mpserver.pid) ?? 0
        simulator.stop()
        if lab.isInterrupted { throw LabError("interrupted") }
        guard !mpserver.hasExited else { throw LabError("mpserver \(mpserver.state) (log: \(mpserver.logPath))") }
        return SessionsResult(
            count: settings.count, sealing: sealing, ratePerSession: settings.ratePerSession,
            accepted: simulator.acceptedCount, sent: simulator.sent.reduce(0, +), echoesPerSession: simulator.echoes,
            sentPerSession: simulator.sent, misdelivered: simulator.misdelivered, residentBefore: before,
            residentAfter: after, serverCoreShare: (used.cpu["mpserver"] ?? 0) / max(used.wallSeconds, 1e-9))
    }

    /// Writes `key` as a key file (mode 600) in the workspace and returns its path.
    private func writeKeyFile(_ key: PreSharedKey, name: String) throws -> String {
        let path = workspace.directory + "/\(name).key"
        try AtomicFile.write(key.base64 + "\n", to: path)
        chmod(path, 0o600)
        return path
    }
}
