import ArgumentParser
import MPCommandLine
import Logging
import MPCore
import MPRuntime

@main
struct MPClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpclient",
        abstract: "Multipath UDP tunnel, gateway side: sends every datagram over every path to mpserver.",
        discussion: """
            CONFIG_FILE lists one path per line as `HOST PORT` (a bridge, or mpserver itself), \
            plus optional `listen HOST PORT` (default \(Defaults.listenHost) \(Defaults.listenPort)), \
            where the application (an OpenVPN or WireGuard client) sends its datagrams. \
            `#` starts a comment.

            Environment: MPTUNNEL_ENCRYPT=0 or 1 is accepted for compatibility with the \
            original mptunnel; with no key configured the tunnel is keyless either way.

            Signals: SIGINT/SIGTERM stop cleanly; SIGUSR1 logs per-path statistics.
            """
    )

    @Argument(help: "The configuration file, for example /etc/mptunnel/mpclient.conf.")
    var configFile: String

    @OptionGroup var common: CommonOptions

    func run() throws {
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
        try common.checkEncryptionSetting(logger: logger)
        try runDaemon(logger: logger) { loop in
            try ClientDaemon(configuration: configuration, loop: loop, logger: logger)
        }
    }
}
