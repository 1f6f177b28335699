import ArgumentParser
import MPCommandLine
import Logging
import MPCore
import MPRuntime

@main
struct MPServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpserver",
        abstract: "Multipath UDP tunnel, server side: forwards the first copy of each datagram to the target.",
        usage: """
            mpserver [<options>] <listen-port> <target-host> <target-port>
            mpserver --status [--status-socket <path>]
            mpserver --genkey
            """,
        discussion: """
            Example: mpserver 2000 127.0.0.1 1194 listens on UDP port 2000 (IPv6 and IPv4) and \
            forwards to an OpenVPN server on 127.0.0.1:1194. Replies go back on every path.

            Keys: `mpserver --genkey > key` makes a key; give it with --key-file here and to \
            mpclient. With a key, frames that do not authenticate get no reply and create no state.

            Environment: MPTUNNEL_ENCRYPT=0 sends payloads in clear but still authenticated (with \
            a key); 1 or unset encrypts them. Without a key it has no effect.

            Status: `mpserver --status` prints, from the running daemon's control socket \
            (--status-socket), a line per session and a row per path: address, datagrams and \
            bytes each way, duplicates dropped, last heard.

            Signals: SIGINT/SIGTERM stop cleanly; SIGUSR1 logs the same table.

            Exit status: 0 stopped by a signal; 1 cannot start (the port taken, a target that does \
            not resolve); 64 a usage error; 78 an error in the key file or MPTUNNEL_ENCRYPT.
            """,
        version: Release.versionText
    )

    @Argument(help: "The UDP port mpclients and bridges send to (1-65535).")
    var listenPort: UInt16?

    @Argument(help: "The target's host name or address.")
    var targetHost: String?

    @Argument(help: "The target's UDP port (1-65535).")
    var targetPort: UInt16?

    @Option(name: .customLong("bind"), help: "The local address to listen on: `::` is every IPv6 and IPv4 address.")
    var bindAddress = "::"

    @Option(
        name: .customLong("reorder-window"),
        help: ArgumentHelp(
            "How long payloads ahead of a gap wait for it before going to the target: auto (as long as the "
                + "slowest path that carries copies lags, at most 50 ms, and no longer than until every path is "
                + "past the gap), off (the default), or at most MS milliseconds (1-60000).",
            valueName: "auto|off|MS"))
    var reorderWindow: ReorderWindow = .off

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard !common.generateKey, !common.status else { return }
        guard let listenPort else { throw ValidationError("Missing expected argument '<listen-port>'") }
        guard targetHost != nil else { throw ValidationError("Missing expected argument '<target-host>'") }
        guard let targetPort else { throw ValidationError("Missing expected argument '<target-port>'") }
        guard listenPort != 0 else { throw ValidationError("LISTEN_PORT `0' is out of range 1-65535") }
        guard targetPort != 0 else { throw ValidationError("TARGET_PORT `0' is out of range 1-65535") }
    }

    func run() throws {
        try reportingConfigurationFailures(runCommand)
    }

    func runCommand() throws {
        let statusSocket = common.statusSocketSetting(defaultPath: Defaults.serverStatusSocket)
        guard try !common.printGeneratedKeyIfAsked(), try !common.printStatusIfAsked(statusSocket, daemon: "mpserver"),
            let listenPort, let targetHost, let targetPort
        else { return }
        let logger = common.makeLogger(label: "mpserver")
        let keyring = try common.makeKeyring(logger: logger)
        let settings = ServerSettings(
            listenPort: listenPort, listenHost: bindAddress, target: Endpoint(host: targetHost, port: targetPort),
            reorderWindow: reorderWindow)
        try runDaemon(logger: logger) { loop in
            try ServerDaemon(
                settings: settings, loop: loop, logger: logger, keyring: keyring, statusSocket: statusSocket,
                metricsPort: common.metricsPort)
        }
    }
}
