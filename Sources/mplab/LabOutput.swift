// Output of the lab tools: status lines on standard output (flushed at once, because a
// parent process or a test reads them through a pipe), and a tiny JSON writer for
// `--json` and `--stats-file`, which other programs parse.
import Glibc

/// Prints `line` on standard output and flushes, so a reader on a pipe sees it now.
func emit(_ line: String) {
    print(line)
    // fflush(nil) flushes every stream; naming `stdout` is a data race in Swift 6's eyes.
    fflush(nil)
}

/// Prints `line` on standard error.
func warn(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// A JSON value with keys kept in insertion order, so output is stable for tests.
enum JSONValue {
    case integer(Int)
    case number(Double)
    case string(String)
    case object([(String, JSONValue)])
    case array([JSONValue])

    var rendered: String {
        switch self {
        case .integer(let value):
            return String(value)
        case .number(let value):
            return value.isFinite ? String(value) : "null"
        case .string(let value):
            return Self.quoted(value)
        case .object(let members):
            let inner = members.map { "\(Self.quoted($0.0)):\($0.1.rendered)" }
            return "{" + inner.joined(separator: ",") + "}"
        case .array(let elements):
            return "[" + elements.map(\.rendered).joined(separator: ",") + "]"
        }
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20: result += "\\u00" + hex(scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }
}

/// Writes small files whole: to `PATH.tmp`, then renamed over `PATH`, so a reader polling
/// the file never sees half of it.
enum AtomicFile {
    static func write(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LabError("cannot write `\(temporary)': \(errnoText())") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { throw LabError("cannot write `\(temporary)': \(errnoText())") }
        guard rename(temporary, path) == 0 else { throw LabError("cannot rename to `\(path)': \(errnoText())") }
    }
}

/// The C library's text for the current errno.
func errnoText(_ code: Int32 = errno) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// A failure the lab reports to the user as one line.
struct LabError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
