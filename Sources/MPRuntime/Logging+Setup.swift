// Logging for the executables: swift-log lines on standard error, where systemd's journal
// and a terminal both pick them up. The executables call this once before building a daemon.
import Logging
import Synchronization

/// Process-wide logging setup.
public enum LogSetup {
    /// Set by the first bootstrap: swift-log traps when bootstrapped twice.
    private static let bootstrapped = Atomic<Bool>(false)

    /// Sends every `Logger` of the process to standard error, showing `level` and above:
    /// with syslog priority prefixes and no timestamp when standard error is the journal
    /// (``JournalStream``), else as swift-log's `StreamLogHandler` writes them. Only the first
    /// call in a process takes effect; later calls return false and change nothing. Safe to
    /// call from any thread.
    @discardableResult
    public static func bootstrap(level: Logger.Level) -> Bool {
        let (exchanged, _) = bootstrapped.compareExchange(
            expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return false }
        let journal = JournalStream.isStandardError()
        LoggingSystem.bootstrap { label in
            guard !journal else {
                var handler = JournalLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return true
    }
}
