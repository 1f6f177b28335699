// One configuration of `mplab bench` on loopback, every hop its own process, so each one
// has a core's worth of time to itself when the machine has it and its CPU is measured:
//
//   tunnel:     load -> mpclient -> bridge 1..N -> mpserver -> echo   (and back)
//   reference:  load -> relay A  -> bridge      -> relay B  -> echo   (and back)
//
// The reference's relays A and B stand where mpclient and mpserver stand: the same hops,
// the same processes, the same kernel work, only without the tunnel's own code. Bridges,
// relays and the echo target are `mplab relay` and `mplab echo` children.
import Glibc
import MPCore
import MPLabSupport
import MPRuntime

/// Whether the tunnel's frames are sealed with a key.
enum BenchSealing: String, CaseIterable {
    case keyless
    case sealed
}

final class BenchTopology {
    /// Where the load sends: mpclient's listen address, or relay A.
    let entry: SocketAddress
    /// Every process started, by role, in the order of the chain ("mpclient", "bridge 1" ...).
    let processes: [ChildProcess]
    private let group: ChildGroup

    private init(entry: SocketAddress, group: ChildGroup) {
        self.entry = entry
        self.group = group
        processes = group.children
    }

    /// The tunnel with `paths` bridges; sealed with the key in `keyFile` when given, with
    /// `cipher` when given (else the daemons' default).
    static func startTunnel(paths: Int, keyFile: String?, cipher: Cipher?, workspace: DemoWorkspace, label: String)
        throws
        -> BenchTopology
    {
        let group = ChildGroup()
        do {
            let starter = Starter(workspace: workspace, label: label, group: group)
            let echo = try starter.echo()
            let serverPort = try DemoWorkspace.freeLoopbackPort()
            let keyArguments = keyFile.map { ["--key-file", $0] } ?? []
            let cipherArguments = cipher.map { ["--cipher", $0.rawValue] } ?? []
            try starter.spawn(
                "mpserver", workspace.serverBinary,
                ["\(serverPort)", "127.0.0.1", "\(echo.port)", "--bind", "127.0.0.1", "--log-level", "warning"]
                    + keyArguments + cipherArguments)
            let bridges = try (1...paths).map { try starter.relay("bridge \($0)", to: .loopbackIPv4(port: serverPort)) }
            let entry = SocketAddress.loopbackIPv4(port: try DemoWorkspace.freeLoopbackPort())
            let config = workspace.directory + "/\(label).conf"
            try workspace.writeClientConfig(listenPort: entry.port, relays: bridges, keyFile: keyFile, to: config)
            try starter.spawn(
                "mpclient", workspace.clientBinary, [config, "--log-level", "warning"] + cipherArguments)
            return BenchTopology(entry: entry, group: group)
        } catch {
            group.stopAll()
            throw error
        }
    }

    /// The relay chain of the same length as the tunnel of one path.
    static func startReference(workspace: DemoWorkspace, label: String) throws -> BenchTopology {
        let group = ChildGroup()
        do {
            let starter = Starter(workspace: workspace, label: label, group: group)
            let echo = try starter.echo()
            let relayB = try starter.relay("relay B", to: echo)
            let bridge = try starter.relay("bridge", to: relayB)
            let relayA = try starter.relay("relay A", to: bridge)
            return BenchTopology(entry: relayA, group: group)
        } catch {
            group.stopAll()
            throw error
        }
    }

    /// Knocks at the entry until the echo answers through the chain. Throws when a child
    /// died or nothing answered within `timeout` seconds.
    func waitUntilReady(lab: LabLoop, timeout: Double) throws {
        var dead: String?
        let answered = try LabProbe.waitForAnswer(from: entry, lab: lab, timeout: timeout) {
            [unowned self, unowned lab] in
            dead = deadChild
            if dead != nil { lab.stop() }
        }
        if let dead { throw LabError(dead) }
        guard answered else { throw LabError("nothing answered at \(entry) within \(timeout) s") }
    }

    /// A child that has exited, described with its log; nil while all run.
    var deadChild: String? {
        processes.first(where: \.hasExited).map { "\($0.name) \($0.state) (log: \($0.logPath))" }
    }

    /// The process in role `name`.
    func process(_ name: String) -> ChildProcess? {
        processes.first { $0.name == name }
    }

    /// Stops every child by PID (SIGTERM, then SIGKILL after 2 s).
    func stop() {
        group.stopAll()
    }
}

/// Starts the children of one topology with their logs in the workspace.
private struct Starter {
    let workspace: DemoWorkspace
    let label: String
    let group: ChildGroup

    func spawn(_ name: String, _ executable: String, _ arguments: [String]) throws {
        let log = workspace.directory + "/\(label)-\(String(name.map { $0 == " " ? "-" : $0 })).log"
        group.add(try ChildProcess.spawn(name: name, executable: executable, arguments: arguments, logPath: log))
    }

    func echo() throws -> SocketAddress {
        let address = SocketAddress.loopbackIPv4(port: try DemoWorkspace.freeLoopbackPort())
        try spawn("echo", workspace.labBinary, ["echo", "--listen", "\(address)"])
        return address
    }

    /// A relay listening on a free port and forwarding to `target`; returns where it listens.
    func relay(_ name: String, to target: SocketAddress) throws -> SocketAddress {
        let address = SocketAddress.loopbackIPv4(port: try DemoWorkspace.freeLoopbackPort())
        // 600 s: no mapping expires during a run.
        try spawn(
            name, workspace.labBinary,
            ["relay", "--listen", "\(address)", "--to", "\(target)", "--idle-timeout", "600"])
        return address
    }
}
