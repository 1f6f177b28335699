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
        discussion: """
            CONFIG_FILE lists one path per line as `HOST PORT` (a bridge, or mpserver itself), \
            plus optional `listen HOST PORT` (default \(Defaults.listenHost) \(Defaults.listenPort)), \
            where the application (an OpenVPN or WireGuard client) sends its datagrams, and \
            optional `key-file PATH` (relative to the config's folder; --key-file overrides it), \
            `mode duplicate|balance` (default duplicate: every datagram on every up path; balance: \
            each on one path, weighted by loss and RTT), `HOST PORT backup` (a path used only while \
            no other is up), `probe-interval MS` (default \(Defaults.probeInterval.nanoseconds / 1_000_000)) \
            and `reorder-window MS` (deliver in order, holding early datagrams up to MS; default off). \
            `#` starts a comment.

            Keys: `mpclient --genkey > key` makes a key; give mpserver the same file. With a key, \
            every frame is sealed with ChaCha20-Poly1305; without one the tunnel is keyless and \
            anyone who can reach the ports can inject traffic.

            Environment: MPTUNNEL_ENCRYPT=0 sends payloads in clear but still authenticated (with \
            a key); 1 or unset encrypts them. Without a key it has no effect.

            Signals: SIGINT/SIGTERM stop cleanly; SIGUSR1 logs a per-path table (state, RTT, \
            loss, datagrams and bytes each way, duplicates, last heard).
            """
    )

    @Argument(help: "The configuration file, for example /etc/mptunnel/mpclient.conf.")
    var configFile: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard common.generateKey || configFile != nil else {
            throw ValidationError("Missing expected argument '<config-file>'")
        }
    }

    func run() throws {
        guard !common.printGeneratedKeyIfAsked(), let configFile else { return }
        let logger = common.makeLogger(label: "mpclient")
        let text: String
        do {
            text = try TextFile.read(path: configFile)
        } catch {
            throw ValidationError("cannot read the configuration: \(error)")
        }
        let configuration: ClientConfiguration
        do {
            configuration = try ConfigParser.parse(text)
        } catch {
            throw ValidationError(error.message(fileName: configFile))
        }
        let keyFile = configuration.keyFile.map { Self.path($0, relativeTo: configFile) }
        let keyring = try common.makeKeyring(configKeyFile: keyFile, logger: logger)
        try runDaemon(logger: logger) { loop in
            try ClientDaemon(configuration: configuration, loop: loop, logger: logger, keyring: keyring)
        }
    }

    /// A relative `key-file` path is taken from the config file's folder, so that
    /// `mpclient /etc/mptunnel/mpclient.conf` works from any working directory.
    static func path(_ path: String, relativeTo configFile: String) -> String {
        guard !path.hasPrefix("/"), let slash = configFile.lastIndex(of: "/") else { return path }
        return String(configFile[...slash]) + path
    }
}
