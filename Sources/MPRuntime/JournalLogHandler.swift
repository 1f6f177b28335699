// Log lines for systemd's journal. A service's standard error is a stream into journald,
// which stamps each line itself and reads a leading `<N>` as the line's syslog priority:
// without it every line is priority 6 (info) and `journalctl -p warning` shows none of the
// warnings. LogSetup picks this handler when JOURNAL_STREAM names standard error.
import Glibc
import Logging
import Synchronization

/// A `LogHandler` writing one line per message to standard error, prefixed with the syslog
/// priority of its level (`<4>` for warning) and with no timestamp: journald adds its own.
public struct JournalLogHandler: LogHandler {
    /// Serializes lines from several threads, so that two messages never interleave.
    private static let output = Mutex<Void>(())

    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority journald files a line of `level` under (sd-daemon(3)).
    public static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The text of one message: the terminal's layout (level, label, metadata, source,
    /// message) without its timestamp, every line of it prefixed with the priority.
    public static func line(
        level: Logger.Level, label: String, metadata: Logger.Metadata, source: String, message: String
    ) -> String {
        let pairs = metadata.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let prefix = "<\(priority(of: level))>"
        let text = "\(level) \(label):\(pairs) [\(source)] \(message)"
        return prefix + text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n" + prefix)
            + "\n"
    }

    public func log(event: LogEvent) {
        var merged = metadataProvider?.get() ?? [:]
        merged.merge(metadata) { $1 }
        merged.merge(event.metadata ?? [:]) { $1 }
        if let error = event.error { merged["error.message"] = "\(error)" }
        Self.write(
            Self.line(
                level: event.level, label: label, metadata: merged, source: event.source,
                message: event.message.description))
    }

    /// Writes `text` to standard error in one `write` call where the kernel takes it whole,
    /// never interleaved with a log line of another thread.
    public static func write(_ text: String) {
        output.withLock { _ in
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { buffer in
                    Glibc.write(STDERR_FILENO, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

/// Whether standard error is the journal stream that systemd set up for this service.
public enum JournalStream {
    /// True when `environment["JOURNAL_STREAM"]` (`DEVICE:INODE`, as systemd.exec(5) sets it)
    /// names the file that standard error is: a program whose standard error was redirected
    /// elsewhere inherits the variable but must not write priority prefixes there.
    public static func isStandardError(environment: [String: String] = Environment.all) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}
