import ArgumentParser
import Logging
import MPRuntime

/// Flags both daemons take.
public struct CommonOptions: ParsableArguments {
    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical. Per-datagram lines appear only at trace.")
    public var logLevel: Logger.Level = .info

    public init() {}

    /// Sets up swift-log on standard error at the chosen level and returns a logger.
    public func makeLogger(label: String) -> Logger {
        LogSetup.bootstrap(level: logLevel)
        var logger = Logger(label: label)
        logger.logLevel = logLevel
        return logger
    }

    /// Checks MPTUNNEL_ENCRYPT, which the original mptunnel read: `0` or `1`, or unset.
    public func checkEncryptionSetting(logger: Logger, environment: [String: String] = Environment.all) throws {
        guard let value = environment["MPTUNNEL_ENCRYPT"] else { return }
        guard value == "0" || value == "1" else {
            throw ValidationError("MPTUNNEL_ENCRYPT `\(value)' must be 0 or 1")
        }
        logger.info("MPTUNNEL_ENCRYPT has no effect without a key", metadata: ["MPTUNNEL_ENCRYPT": "\(value)"])
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Creates the daemon on the process's default libev loop (the one that receives signals)
/// and runs it until SIGINT or SIGTERM.
public func runDaemon(logger: Logger, _ make: (EventLoop) throws -> some Daemon) throws {
    let daemon: any Daemon
    do {
        daemon = try make(try EventLoop.makeDefault())
    } catch {
        logger.error("cannot start", metadata: ["error": "\(error)"])
        throw ExitCode.failure
    }
    daemon.run()
}
