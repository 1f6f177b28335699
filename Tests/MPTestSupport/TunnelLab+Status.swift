// `mpclient --status` and `mpserver --status` as a user runs them, against the control
// socket of a daemon the lab started.
import MPLabSupport

extension TunnelLab {
    /// What a `--status` run printed, and its exit status (`nil` if it did not end in time).
    public struct StatusOutput {
        public let exitStatus: Int32?
        public let text: String

        public init(exitStatus: Int32?, text: String) {
            self.exitStatus = exitStatus
            self.text = text
        }
    }

    /// Runs `mpclient --status` (or `mpserver --status`, after `daemon`'s executable) on the
    /// control socket of `daemon`, waiting at most 5 s.
    public func status(of daemon: ChildProcess) throws -> StatusOutput {
        let executable = daemon.commandLine.hasPrefix("\(products)/mpserver") ? "mpserver" : "mpclient"
        let socket = statusSockets[daemon.pid] ?? "/nonexistent"
        let process = try start(executable, ["--status", "--status-socket", socket])
        let exitStatus = process.waitForExit(timeout: .seconds(5))
        return StatusOutput(exitStatus: exitStatus, text: process.log)
    }

    /// The row of path `id` in a status table (its cells split on spaces), or nil.
    public static func pathRow(_ id: Int, in text: String) -> [String]? {
        for line in text.split(separator: "\n") {
            let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if cells.first == "\(id)", cells.count > 3 { return cells }
        }
        return nil
    }
}
