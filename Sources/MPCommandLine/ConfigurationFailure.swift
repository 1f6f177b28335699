// Exit statuses for operators and systemd (sysexits.h): a usage error exits 64 with the usage
// text (argument-parser's ValidationError), a config or key error exits 78 with only the
// quoted error. The units carry `RestartPreventExitStatus=64 78`: neither heals by retrying.
import ArgumentParser
import MPRuntime

/// The exit statuses the daemons use beyond 0 (stopped cleanly), 1 (cannot start: a port
/// taken, a name that does not resolve; systemd retries) and `--check`'s 2.
public enum ExitStatus {
    /// EX_USAGE: the command line is wrong; the usage text follows the error.
    public static let usage: Int32 = 64
    /// EX_CONFIG: the config file, the key file or MPTUNNEL_ENCRYPT is wrong.
    public static let configuration: Int32 = 78
}

/// A config or key error: the message (which names the file and line and quotes the bad
/// text) goes to standard error, with no usage text, and the command exits 78.
public struct ConfigurationFailure: Error, CustomStringConvertible {
    /// For example ``/etc/mptunnel/mpclient.conf:4: port `70000' is out of range 1-65535``.
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    /// Prints the error as argument-parser prints its own (`Error: ...`), at priority 3 under
    /// journald, and returns the exit code to throw.
    public func report(environment: [String: String] = Environment.all) -> ExitCode {
        let prefix = JournalStream.isStandardError(environment: environment) ? "<3>" : ""
        JournalLogHandler.write("\(prefix)Error: \(description)\n")
        return ExitCode(ExitStatus.configuration)
    }
}

extension ParsableCommand {
    /// Runs `body`, turning a ``ConfigurationFailure`` into its message and exit status 78.
    public func reportingConfigurationFailures(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let failure as ConfigurationFailure {
            throw failure.report()
        }
    }
}
