import ArgumentParser
import MPCommandLine
import Logging
import MPCore
import MPRuntime

@main
struct MPClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpclient",
        abstract: "Multipath UDP tunnel, gateway side: sends datagrams over several paths to mpserver.",
        usage: """
            mpclient [<options>] <config-file>
            mpclient --check [--check-seconds <seconds>] <config-file>
            mpclient --status [--status-socket <path>] [<config-file>]
            mpclient --genkey
            """,
        discussion: """
            CONFIG_FILE lists one path per line as `HOST PORT` (a bridge, or mpserver itself), \
            plus optional `listen HOST PORT` (default \(Defaults.listenHost) \(Defaults.listenPort)), \
            where the application (an OpenVPN or WireGuard client) sends its datagrams, and \
            optional `key-file PATH` (relative to the config's folder; --key-file overrides it), \
            `mode duplicate|balance|fec K:M` (default duplicate: every datagram on every up path; balance: \
            each on one path, weighted by loss and RTT; fec K:M: each on one path, and every K datagrams M \
            parity datagrams spread over the paths, so any one of 3 or more paths may fail, for (K+M)/K \
            times the traffic), `fec-timeout MS` (fec: parity of a group not full after MS, default \
            \(Defaults.fecTimeout.nanoseconds / 1_000_000)), `fastest-copies auto|N` (duplicate mode: \
            copies on the fastest path; auto, the default, sends 2 while it loses 1% or more), \
            `HOST PORT backup` (a path used only while \
            no other is up), `probe-interval MS` (default \(Defaults.probeInterval.nanoseconds / 1_000_000)) \
            and `reorder-window auto|off|MS` (deliver in order, holding early datagrams as long as the slower \
            paths lag, at most 50 ms, or up to MS; default off). \
            `#` starts a comment.

            Keys: `mpclient --genkey > key` makes a key; give mpserver the same file. With a key, \
            every frame is sealed with AES-256-GCM or ChaCha20-Poly1305 (--cipher); without one \
            the tunnel is keyless and anyone who can reach the ports can inject traffic.

            Environment: MPTUNNEL_ENCRYPT=0 sends payloads in clear but still authenticated (with \
            a key); 1 or unset encrypts them. Without a key it has no effect.

            Checking: `mpclient --check CONFIG_FILE` probes each path for --check-seconds (default \
            \(PathCheckTiming.defaultSeconds)) with the same key and prints a verdict per path (ok, refused, \
            no answer, rejected) with a hint; the exit code is 0 when all paths work, 2 when some fail, 1 \
            when none does.

            Status: `mpclient --status [CONFIG_FILE]` prints, from the running daemon's control \
            socket (`status-socket PATH` in the config, or --status-socket), a row per path: state, \
            RTT, loss, datagrams and bytes each way, duplicates dropped, last heard.

            Signals: SIGINT/SIGTERM stop cleanly; SIGUSR1 logs the same table.

            Exit status: 0 stopped by a signal; 1 cannot start (a port taken, a name that does not \
            resolve); 64 a usage error; 78 an error in the config file, the key file or \
            MPTUNNEL_ENCRYPT (the message names the file and line).
            """,
        version: Release.versionText
    )

    @Argument(help: "The configuration file, for example /etc/mptunnel/mpclient.conf.")
    var configFile: String?

    @OptionGroup var common: CommonOptions

    @Flag(
        help: """
            Probe every path for a few seconds, print one row per path with a verdict and a hint, and exit: \
            0 when every path works, 2 when some fail, 1 when none works. Safe while mpclient runs.
            """)
    var check = false

    @Option(
        name: .customLong("check-seconds"),
        help: ArgumentHelp(
            "How long --check probes, \(PathCheckTiming.secondsRange.lowerBound)-\(PathCheckTiming.secondsRange.upperBound) s.",
            valueName: "seconds"))
    var checkSeconds = PathCheckTiming.defaultSeconds

    func validate() throws {
        guard common.generateKey || common.status || configFile != nil else {
            throw ValidationError("Missing expected argument '<config-file>'")
        }
    }

    func run() throws {
        try reportingConfigurationFailures(runCommand)
    }

    func runCommand() throws {
        guard try !common.printGeneratedKeyIfAsked() else { return }
        if common.status {
            // The config, when given, says where the socket is (`status-socket`).
            let configured = try configFile.map { try Self.load($0).statusSocket } ?? nil
            let setting = common.statusSocketSetting(configured: configured, defaultPath: Defaults.clientStatusSocket)
            _ = try common.printStatusIfAsked(setting, daemon: "mpclient")
            return
        }
        guard let configFile else { return }
        let logger = common.makeLogger(label: "mpclient")
        let configuration = try Self.load(configFile)
        let statusSocket = common.statusSocketSetting(
            configured: configuration.statusSocket, defaultPath: Defaults.clientStatusSocket)
        let keyFile = configuration.keyFile.map { Self.path($0, relativeTo: configFile) }
        let keyring = try common.makeKeyring(configKeyFile: keyFile, logger: logger)
        if check { return try runCheck(configuration: configuration, keyring: keyring, logger: logger) }
        try runDaemon(logger: logger) { loop in
            try ClientDaemon(
                configuration: configuration, loop: loop, logger: logger, keyring: keyring, statusSocket: statusSocket,
                metricsPort: common.metricsPort ?? configuration.metricsPort)
        }
    }

    /// The configuration in `configFile`; a ``ConfigurationFailure`` names the file (and the
    /// line, quoting the bad text).
    static func load(_ configFile: String) throws -> ClientConfiguration {
        let text: String
        do {
            text = try TextFile.read(path: configFile)
        } catch {
            throw ConfigurationFailure("cannot read the configuration: \(error)")
        }
        do {
            return try ConfigParser.parse(text)
        } catch {
            throw ConfigurationFailure(error.message(fileName: configFile))
        }
    }

    /// `--check`: probes every path, prints the verdicts and exits 0 (all work), 2 (some
    /// fail) or 1 (none works).
    func runCheck(configuration: ClientConfiguration, keyring: Keyring, logger: Logger) throws {
        guard let timing = PathCheckTiming(seconds: checkSeconds) else {
            let range = PathCheckTiming.secondsRange
            throw ValidationError(
                "--check-seconds `\(checkSeconds)' is out of range \(range.lowerBound)-\(range.upperBound)")
        }
        let report: PathCheckReport
        do {
            report = try PathCheck.run(configuration: configuration, keyring: keyring, timing: timing)
        } catch {
            logger.error("cannot check", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        print(report.text, terminator: "")
        guard report.exitCode == 0 else { throw ExitCode(report.exitCode) }
    }

    /// A relative `key-file` path is taken from the config file's folder, so that
    /// `mpclient /etc/mptunnel/mpclient.conf` works from any working directory.
    static func path(_ path: String, relativeTo configFile: String) -> String {
        guard !path.hasPrefix("/"), let slash = configFile.lastIndex(of: "/") else { return path }
        return String(configFile[...slash]) + path
    }
}
