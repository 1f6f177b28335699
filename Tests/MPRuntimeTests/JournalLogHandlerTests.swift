import Logging
import MPRuntime
import Testing

/// Journal lines: journald files each line under the priority of its `<N>` prefix.
@Suite("Journal log lines")
struct JournalLogHandlerTests {
    @Test(
        "each level maps to its syslog priority",
        arguments: [
            (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3),
            (.critical, 2),
        ])
    func priorities(level: Logger.Level, priority: Int) {
        #expect(JournalLogHandler.priority(of: level) == priority)
    }

    @Test("a line has the priority, the terminal's layout and no timestamp; every line of a message is prefixed")
    func layout() {
        let line = JournalLogHandler.line(
            level: .warning, label: "mpclient", metadata: ["path": "1", "endpoint": "127.0.0.1:4000"],
            source: "MPRuntime", message: "path down\nsecond line")
        #expect(line == "<4>warning mpclient: endpoint=127.0.0.1:4000 path=1 [MPRuntime] path down\n<4>second line\n")
    }

    @Test("JOURNAL_STREAM is honoured only when it names standard error")
    func stream() {
        #expect(!JournalStream.isStandardError(environment: [:]))
        #expect(!JournalStream.isStandardError(environment: ["JOURNAL_STREAM": "1:1"]))
        #expect(!JournalStream.isStandardError(environment: ["JOURNAL_STREAM": "garbage"]))
    }
}
