/// Why mpclient.conf was rejected, and on which line.
///
/// Tests compare errors exactly; users read ``message(fileName:)``, which names the line
/// and quotes the offending text: ``mpclient.conf:4: port `70000' is out of range 1-65535``.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The line the error is on (from 1); `nil` for an error about the whole file.
    public var lineNumber: Int?
    /// What is wrong.
    public var kind: Kind

    /// What is wrong with a config. Associated strings are the text as written.
    public enum Kind: Hashable, Sendable {
        /// A port of decimal digits outside 1-65535 (`0`, `70000`).
        case portOutOfRange(String)
        /// A port that is not plain decimal digits (`abc`, `3000x`, `+3000`, `-1`).
        case invalidPort(String)
        /// A host that is neither a valid host name nor an IPv4 or IPv6 literal.
        case invalidHost(String)
        /// A first word that is no directive, and not a host followed by a port.
        case unknownDirective(String)
        /// A word after a complete directive (`listen HOST PORT extra`).
        case unexpectedToken(String)
        /// A directive without all its arguments; carries the directive's name (`listen`).
        case missingArgument(String)
        /// A directive that takes a path, without one; carries the directive's name (`key-file`).
        case missingPath(String)
        /// A second `key-file` line.
        case duplicateKeyFile
        /// A host with no port after it; carries the host as written.
        case missingPort(String)
        /// A word after `HOST PORT` that is not a known path option.
        case unknownOption(String)
        /// A second `listen` line.
        case duplicateListen
        /// A path whose host and port an earlier line already has; carries `host:port`.
        case duplicatePath(String)
        /// More paths than `limit` (``Defaults/maximumPaths``).
        case tooManyPaths(limit: Int)
        /// A config with no path at all (whole-file error).
        case noPaths
        /// A directive without its value; carries the directive's name (`mode`).
        case missingValue(String)
        /// A `mode` other than `duplicate` or `balance`; carries the value as written.
        case invalidMode(String)
        /// A millisecond value that is not plain decimal digits; carries the directive and the value.
        case invalidMilliseconds(String, String)
        /// A `fastest-copies` value that is neither `auto` nor a whole number 1-4.
        case invalidFastestCopies(String)
        /// A `reorder-window` value that is neither `auto`, `off` nor a number.
        case invalidReorderWindow(String)
        /// A millisecond value outside `minimum...maximum`; carries the directive and the value.
        case millisecondsOutOfRange(String, String, minimum: Int, maximum: Int)
        /// A second line of a directive that may appear once; carries its name.
        case duplicateDirective(String)
        /// A path option given twice on one line (`backup backup`).
        case duplicateOption(String)
        /// `rate` at the end of a path line, without its value.
        case missingRate
        /// A `rate` value that is not a number with a unit; carries it as written.
        case invalidRate(String)
        /// A `rate` value outside 8kbit-100gbit or 1-10000000/s; carries it as written.
        case rateOutOfRange(String)
        /// `mode fec K:M` with K or M not a number in range.
        case invalidFECShards(String)
    }

    /// Creates an error of `kind` on line `lineNumber` (`nil` for the whole file).
    public init(lineNumber: Int?, kind: Kind) {
        self.lineNumber = lineNumber
        self.kind = kind
    }

    /// The full message: `fileName:line: reason`, or `fileName: reason` for a whole-file error.
    public func message(fileName: String) -> String {
        guard let lineNumber else { return "\(fileName): \(reason)" }
        return "\(fileName):\(lineNumber): \(reason)"
    }

    /// The message with the file name `config`.
    public var description: String { message(fileName: "config") }

    /// What is wrong, without the location: ``port `70000' is out of range 1-65535``.
    public var reason: String {
        switch kind {
        case .portOutOfRange(let text): "port \(quote(text)) is out of range 1-65535"
        case .invalidPort(let text): "invalid port \(quote(text)): expected a number 1-65535"
        case .invalidHost(let text):
            "invalid host \(quote(text)): expected a host name, an IPv4 address or an IPv6 address"
        case .unknownDirective(let text):
            "unknown directive \(quote(text)): expected `HOST PORT' or `listen HOST PORT'"
        case .unexpectedToken(let text): "unexpected \(quote(text)) at the end of the line"
        case .missingArgument(let name): "\(quote(name)) needs a host and a port: expected `\(name) HOST PORT'"
        case .missingPath(let name): "\(quote(name)) needs a path: expected `\(name) PATH'"
        case .duplicateKeyFile: "second `key-file' line: mpclient uses one key"
        case .missingPort(let host): "missing port after \(quote(host)): expected `HOST PORT'"
        case .unknownOption(let text): "unknown option \(quote(text)) after `HOST PORT'"
        case .duplicateListen: "second `listen' line: mpclient listens on one address"
        case .duplicatePath(let text): "path \(quote(text)) is listed twice"
        case .tooManyPaths(let limit): "too many paths: at most \(limit) are allowed"
        case .noPaths: "no path: add a line `HOST PORT'"
        case .missingValue(let name):
            switch name {
            case ConfigParser.modeDirective:
                "`mode' needs a value: expected `mode duplicate', `mode balance' or `mode fec K:M'"
            case ConfigParser.metricsPortDirective: "`metrics-port' needs a value: expected `metrics-port PORT'"
            case ConfigParser.fastestCopiesDirective:
                "`fastest-copies' needs a value: expected `fastest-copies auto' or `fastest-copies 2'"
            case ConfigParser.reorderWindowDirective:
                "`reorder-window' needs a value: expected `reorder-window auto', `off' or `reorder-window MS'"
            default: "\(quote(name)) needs a value: expected `\(name) MS'"
            }
        case .invalidMode(let text): "invalid mode \(quote(text)): expected `duplicate', `balance' or `fec K:M'"
        case .invalidFECShards(let text):
            "invalid `fec' shards \(quote(text)): expected K:M, K 1-\(Defaults.maximumFECDataShards) and M 1-\(Defaults.maximumFECParityShards) (`fec 4:2')"
        case .invalidFastestCopies(let text):
            "invalid `fastest-copies' value \(quote(text)): expected `auto' or a whole number 1-\(Defaults.maximumFastestCopies)"
        case .invalidReorderWindow(let text):
            "invalid `reorder-window' value \(quote(text)): expected `auto', `off' or milliseconds (1-\(Defaults.maximumConfigMilliseconds))"
        case .invalidMilliseconds(let name, let text):
            "invalid \(quote(name)) value \(quote(text)): expected milliseconds, a whole number"
        case .millisecondsOutOfRange(let name, let text, let minimum, let maximum):
            "\(quote(name)) value \(quote(text)) is out of range \(minimum)-\(maximum) ms"
        case .duplicateDirective(let name): "second \(quote(name)) line: it may appear once"
        case .duplicateOption(let text): "option \(quote(text)) is given twice"
        case .missingRate: "`rate' needs a value: expected `rate 7mbit', `rate 700kbit' or `rate 600/s'"
        case .invalidRate(let text):
            "invalid `rate' value \(quote(text)): expected a number and `bit', `kbit', `mbit', `gbit' or `/s' (`7mbit', `600/s')"
        case .rateOutOfRange(let text): "`rate' value \(quote(text)) is out of range 8kbit-100gbit (or 1-10000000/s)"
        }
    }
}

extension ConfigError {
    /// Quoted text longer than this is cut: a config line is hostile input, and a log line
    /// should stay one readable line (64 is longer than any sensible token but a host name).
    static let maximumQuotedLength = 64

    /// `` `text' ``, with anything but printable ASCII escaped as `\u{…}` (a config could
    /// otherwise inject terminal escapes or line breaks into the log) and long text cut.
    func quote(_ text: String) -> String {
        var result = "`"
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            if offset == Self.maximumQuotedLength {
                result += "..."
                break
            }
            if (0x20...0x7E).contains(scalar.value) {
                result.unicodeScalars.append(scalar)
            } else {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
        }
        return result + "'"
    }
}
