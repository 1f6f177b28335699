// A loopback laboratory for end-to-end tests: the built mpserver and mpclient, an echo
// target, and bridges (socat or mplab's lossy relays), each a child process on 127.0.0.1
// with free ports, all stopped by PID when the lab goes away. A keyed lab makes one key
// file with `mpserver --genkey` and gives it to every daemon it starts.
import MPCore
import MPRuntime
import MPLabSupport

/// Which key file a daemon started by a ``TunnelLab`` gets.
public enum KeyChoice: Sendable {
    /// The lab's key file (none in a keyless lab).
    case lab
    /// No key, even in a keyed lab.
    case none
    /// This key file.
    case file(String)
}

/// A set of processes forming one tunnel (or several) on loopback.
public final class TunnelLab {
    /// Scratch directory for logs and config files.
    public let directory: String
    /// Where mpclient, mpserver and mplab were built.
    public let products: String
    /// The key file every daemon gets unless told otherwise; nil in a keyless lab.
    public private(set) var keyFile: String?
    private(set) var processes: [ChildProcess] = []
    /// The control socket of each daemon the lab started, by process id: each its own, in
    /// the lab's directory, so no test touches /run/mptunnel.
    var statusSockets: [Int32: String] = [:]
    private var counter = 0

    /// A keyless lab running the binaries in `products` (by default the build of the tests).
    public init(products: String = productsDirectory()) {
        directory = makeTemporaryDirectory()
        self.products = products
    }

    /// A lab whose daemons share one fresh key when `keyed` is true, running the binaries in
    /// `products` (by default the build of the tests; ``releaseProductsDirectory()`` where a
    /// test judges a rate).
    public convenience init(keyed: Bool, products: String = productsDirectory()) throws {
        self.init(products: products)
        if keyed { keyFile = try makeKeyFile(named: "key") }
    }

    /// Writes a fresh key from `mpserver --genkey` to a file of the lab's directory, mode
    /// 600 as the README asks, and returns its path.
    public func makeKeyFile(named name: String) throws -> String {
        let process = try start("mpserver", ["--genkey"])
        let status = process.waitForExit(timeout: .seconds(10))
        let key = process.log.split(separator: "\n").last.map(String.init) ?? ""
        guard status == 0, key.count == 44 else { throw KeyGenerationError(output: process.log) }
        let path = "\(directory)/\(name)"
        try writeFile(path, key + "\n")
        return path
    }

    private func keyPath(_ choice: KeyChoice) -> String? {
        switch choice {
        case .lab: return keyFile
        case .none: return nil
        case .file(let path): return path
        }
    }

    deinit {
        stopAll()
    }

    /// Starts `executable` (a product name, or a command on PATH) and keeps it for cleanup.
    @discardableResult
    public func start(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> ChildProcess
    {
        counter += 1
        let name = executable.split(separator: "/").last.map(String.init) ?? executable
        let path = ["mpclient", "mpserver", "mplab"].contains(executable) ? "\(products)/\(executable)" : executable
        let process = try ChildProcess(
            path, arguments, environment: environment, logPath: "\(directory)/\(counter)-\(name).log")
        processes.append(process)
        return process
    }

    /// `mpserver PORT 127.0.0.1 TARGET_PORT`, with `--key-file` when `key` names one.
    @discardableResult
    public func startServer(
        port: UInt16, targetPort: UInt16, arguments: [String] = [], key: KeyChoice = .lab,
        environment: [String: String] = [:]
    ) throws -> ChildProcess {
        let keyArguments = keyPath(key).map { ["--key-file", $0] } ?? []
        let socket = "\(directory)/mpserver-\(counter + 1).sock"
        let process = try start(
            "mpserver",
            ["\(port)", "127.0.0.1", "\(targetPort)", "--log-level", "debug", "--status-socket", socket]
                + keyArguments + arguments,
            environment: environment)
        statusSockets[process.pid] = socket
        return process
    }

    /// Writes an mpclient.conf listening on `listenPort` with one path per port in
    /// `pathPorts` (all on 127.0.0.1), a `key-file` line when `key` names one, plus
    /// `extraLines`, and starts `mpclient` on it (with `arguments` after the usual ones).
    @discardableResult
    public func startClient(
        listenPort: UInt16, pathPorts: [UInt16], extraLines: [String] = [], arguments: [String] = [],
        key: KeyChoice = .lab, environment: [String: String] = [:]
    ) throws -> ChildProcess {
        counter += 1
        let config = "\(directory)/mpclient-\(counter).conf"
        let keyLines = keyPath(key).map { ["key-file \($0)"] } ?? []
        let lines =
            ["# written by TunnelLab", "listen 127.0.0.1 \(listenPort)"]
            + pathPorts.map { "127.0.0.1 \($0)" } + keyLines + extraLines
        try writeFile(config, lines.joined(separator: "\n") + "\n")
        let socket = "\(directory)/mpclient-\(counter + 1).sock"
        let process = try start(
            "mpclient", [config, "--log-level", "debug", "--status-socket", socket] + arguments,
            environment: environment)
        statusSockets[process.pid] = socket
        return process
    }

    /// An echo target on `port`; with `statsFile`, its counters go there every second.
    @discardableResult
    public func startEcho(
        port: UInt16, statsFile: String? = nil, countPrefix: String? = nil
    ) throws -> ChildProcess {
        let stats = statsFile.map { ["--stats-file", $0] } ?? []
        let prefix = countPrefix.map { ["--count-prefix", $0] } ?? []
        return try start("mplab", ["echo", "--listen", "127.0.0.1:\(port)"] + stats + prefix)
    }

    /// A lossy relay from `listenPort` to `targetPort` dropping `drop` of the datagrams each
    /// way; with `rate` > 0 each direction forwards at most that many datagrams per second,
    /// and `delayMilliseconds` is added to every datagram (`mplab relay --rate`, `--delay-ms`).
    @discardableResult
    public func startRelay(
        listenPort: UInt16, targetPort: UInt16, drop: Double = 0, seed: Int = 1, rate: Int = 0,
        delayMilliseconds: Int = 0
    ) throws -> ChildProcess {
        try start(
            "mplab",
            [
                "relay", "--listen", "127.0.0.1:\(listenPort)", "--to", "127.0.0.1:\(targetPort)",
                "--drop", "\(drop)", "--seed", "\(seed)", "--rate", "\(rate)", "--delay-ms", "\(delayMilliseconds)",
            ])
    }

    /// The socat bridge the README documents (see Configs/README.md): survives restarts
    /// of mpserver and of mpclient, and carries datagrams up to 65,535 bytes.
    @discardableResult
    public func startSocatBridge(listenPort: UInt16, targetPort: UInt16) throws -> ChildProcess {
        try start("socat", Self.socatArguments(listenPort: listenPort, target: "127.0.0.1:\(targetPort)"))
    }

    /// The README's bridge invocation, as arguments.
    public static func socatArguments(listenPort: UInt16, target: String) -> [String] {
        [
            "-b", "65536", "-T", "60", "udp4-listen:\(listenPort),reuseaddr,fork,max-children=64",
            "udp4-sendto:\(target)",
        ]
    }

    /// Waits until a datagram sent to mpclient at `listenPort` comes back from the echo target.
    public func waitForTunnel(listenPort: UInt16, timeout: Duration = .seconds(10)) throws -> Bool {
        let prober = try Prober(to: .loopbackIPv4(port: listenPort))
        return waitUntil(timeout: timeout, poll: .milliseconds(1)) {
            prober.roundTrip(Array("ping".utf8), timeout: .milliseconds(200)) != nil
        }
    }

    /// Stops every process, newest first.
    public func stopAll() {
        for process in processes.reversed() { process.stop() }
        processes.removeAll()
    }

    /// The logs of every process, for a failing test's message.
    public var logs: String {
        processes.map { "== \($0.commandLine)\n\($0.log)" }.joined(separator: "\n")
    }
}

/// `mpserver --genkey` did not print a key.
public struct KeyGenerationError: Error, CustomStringConvertible {
    public let output: String
    public var description: String { "mpserver --genkey printed no key: \(output)" }
}
