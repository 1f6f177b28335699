/// A line-fed parser for mpclient.conf. It never opens files: the caller feeds lines (from a
/// file, a test, a fuzzer) and calls ``finish()`` at the end.
///
/// The format is compatible with the original C mptunnel:
///
/// ```
/// # comment; blank lines are ignored
/// listen 127.0.0.1 3000      # optional, at most once; default 127.0.0.1 3000
/// key-file /etc/mptunnel/key # optional, at most once: seal frames with this key
/// mode balance               # optional: duplicate (default) or balance
/// probe-interval 1000        # optional: milliseconds between probes per path (10-60000)
/// reorder-window auto        # optional: off (default), auto, or hold at most MS (1-60000)
/// fastest-copies 2            # optional: copies on the fastest path in duplicate mode: auto (default) or 1-4
/// status-socket /run/mptunnel/mpclient.sock  # optional: the control socket's path
/// metrics-port 9100          # optional: Prometheus text metrics on 127.0.0.1:9100
/// bridge1.example.net 4000   # one path per line: HOST PORT [backup] [rate RATE]
/// 192.0.2.7 4000 backup      # used only while no other path is up
/// [2001:db8::1] 2000         # IPv6 bare (2001:db8::1) or in brackets
/// ```
///
/// - `#` starts a comment anywhere on a line; words are separated by spaces and tabs; a
///   carriage return (CRLF line endings) counts as a space.
/// - HOST is a host name (letters, digits, `-`, `_`, `.`; at most 253 characters, labels of
///   1-63 characters that neither begin nor end with `-`; one trailing `.` allowed), a
///   dotted-quad IPv4 address without leading zeros, or an IPv6 address, bare or in brackets,
///   with an optional `%zone`. Names are not resolved here: that is the runtime's job.
/// - The key file's PATH is one word (no spaces), taken as written; the parser never opens it.
/// - PORT is decimal digits only, 1-65535.
/// - Directive names match case-insensitively, so a host named `listen`, `mode` and so on
///   (in any case) cannot start a path line; write it fully qualified instead: `listen. 2000`.
/// - Every directive may appear at most once. The path options are `backup` and
///   `rate RATE` (`7mbit`, `700kbit`, `0.7mbit`, `600/s`: a cap on the path's upstream
///   capacity for balance mode).
/// - A line whose first word is not a directive is a path when that word looks like an
///   address (it holds `.`, `:` or `[`) or the next word looks like a port attempt (begins
///   with a digit or a sign and holds no `.` or `:`); otherwise it is an unknown directive,
///   so that `mdoe balance` says "unknown directive" rather than "invalid port".
/// - Two paths are the same when their ports are equal and their hosts are equal ignoring
///   ASCII case. IPv6 literals are compared as written (`::1` and `0::1` differ).
///
/// A line that throws leaves the parser unchanged, so a caller may go on feeding lines to
/// report every error of a file. Not safe for concurrent use.
public struct ConfigParser: Sendable {
    /// The one directive so far (lowercase); a line starting with it is never a path.
    static let listenDirective = "listen"
    /// `key-file PATH`: the pre-shared key's file.
    static let keyFileDirective = "key-file"
    /// `mode duplicate|balance`.
    static let modeDirective = "mode"
    /// `probe-interval MS`.
    static let probeIntervalDirective = "probe-interval"
    /// `reorder-window auto|off|MS`.
    static let reorderWindowDirective = "reorder-window"
    /// `status-socket PATH`.
    static let statusSocketDirective = "status-socket"
    /// `metrics-port PORT`.
    static let metricsPortDirective = "metrics-port"
    /// `fastest-copies N`.
    static let fastestCopiesDirective = "fastest-copies"
    /// `fec-timeout MS`: how long a `mode fec` group that is not full waits for its parity.
    static let fecTimeoutDirective = "fec-timeout"
    /// The `backup` option after `HOST PORT`.
    static let backupOption = "backup"
    /// The `rate RATE` option after `HOST PORT`.
    static let rateOption = "rate"
    /// Probe intervals below 10 ms are load, not health (100 probes a second per path).
    static let minimumProbeInterval = 10

    var listen: Endpoint?
    var keyFile: String?
    var mode: SchedulingMode?
    var probeInterval: TimeSpan?
    var reorderWindow: ReorderWindow?
    var fastestCopies: FastestCopies?
    var fecShards: (Int, Int)?
    var fecTimeout: TimeSpan?
    var statusSocket: String?
    var metricsPort: UInt16?
    var paths: [PathConfiguration] = []
    /// The paths' endpoints with lowercase hosts, to find a duplicate in constant time.
    var pathKeys: Set<Endpoint> = []

    /// Creates a parser that has seen no line.
    public init() {}

    /// Parses one line (without its `\n`; a trailing `\r` is tolerated). `lineNumber` is
    /// used in errors and stored in ``PathConfiguration/lineNumber``; lines are counted from 1.
    /// Throws the first error on the line and then leaves the parser unchanged.
    public mutating func feed(line: some StringProtocol, lineNumber: Int) throws(ConfigError) {
        let words = Self.words(of: line)
        guard let first = words.first else { return }
        if Self.isDirective(first, Self.listenDirective) {
            try feedListen(words, lineNumber: lineNumber)
        } else if Self.isDirective(first, Self.keyFileDirective) {
            try feedKeyFile(words, lineNumber: lineNumber)
        } else if Self.isDirective(first, Self.modeDirective) {
            try feedMode(words, lineNumber: lineNumber)
        } else if Self.isDirective(first, Self.probeIntervalDirective) {
            let value = try Self.milliseconds(words, minimum: Self.minimumProbeInterval, lineNumber: lineNumber)
            guard probeInterval == nil else { throw duplicate(Self.probeIntervalDirective, lineNumber) }
            probeInterval = value
        } else if Self.isDirective(first, Self.reorderWindowDirective) {
            try feedReorderWindow(words, lineNumber: lineNumber)
        } else if Self.isDirective(first, Self.statusSocketDirective) {
            try feedStatusSocket(words, lineNumber: lineNumber)
        } else if Self.isDirective(first, Self.fastestCopiesDirective) {
            try feedFastestCopies(words, lineNumber: lineNumber)
        } else if Self.isDirective(first, Self.fecTimeoutDirective) {
            try feedFECTimeout(words, lineNumber: lineNumber)
        } else if Self.isDirective(first, Self.metricsPortDirective) {
            try feedMetricsPort(words, lineNumber: lineNumber)
        } else if Self.isPathLine(words) {
            try feedPath(words, lineNumber: lineNumber)
        } else {
            throw ConfigError(lineNumber: lineNumber, kind: .unknownDirective(first))
        }
    }

    /// The configuration of all lines fed so far. Throws ``ConfigError/Kind/noPaths`` (with
    /// no line number) when no line gave a path.
    public func finish() throws(ConfigError) -> ClientConfiguration {
        guard !paths.isEmpty else { throw ConfigError(lineNumber: nil, kind: .noPaths) }
        return ClientConfiguration(
            listen: listen ?? ClientConfiguration.defaultListen, paths: paths, keyFile: keyFile,
            mode: mode ?? .duplicate, probeInterval: probeInterval ?? Defaults.probeInterval,
            reorderWindow: reorderWindow ?? .off, statusSocket: statusSocket, metricsPort: metricsPort,
            fastestCopies: fastestCopies ?? .auto,
            fec: FECSettings(
                dataShards: fecShards?.0 ?? Defaults.fecDataShards,
                parityShards: fecShards?.1 ?? Defaults.fecParityShards,
                timeout: fecTimeout ?? Defaults.fecTimeout))
    }

    /// Parses a whole text: splits it on `\n` (a `\r` before it is tolerated), numbers the
    /// lines from 1 and skips a leading byte order mark. Throws the first error.
    public static func parse(_ text: String) throws(ConfigError) -> ClientConfiguration {
        var parser = ConfigParser()
        var scalars = Substring(text).unicodeScalars
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }
        let lines = scalars.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            try parser.feed(line: Substring(line), lineNumber: index + 1)
        }
        return try parser.finish()
    }

    /// `listen HOST PORT`.
    mutating func feedListen(_ words: [String], lineNumber: Int) throws(ConfigError) {
        guard words.count >= 3 else {
            throw ConfigError(lineNumber: lineNumber, kind: .missingArgument(Self.listenDirective))
        }
        let endpoint = try Self.endpoint(host: words[1], port: words[2], lineNumber: lineNumber)
        if words.count > 3 {
            throw ConfigError(lineNumber: lineNumber, kind: .unexpectedToken(words[3]))
        }
        if listen != nil { throw ConfigError(lineNumber: lineNumber, kind: .duplicateListen) }
        listen = endpoint
    }

    /// `key-file PATH`.
    mutating func feedKeyFile(_ words: [String], lineNumber: Int) throws(ConfigError) {
        guard words.count >= 2 else {
            throw ConfigError(lineNumber: lineNumber, kind: .missingPath(Self.keyFileDirective))
        }
        if words.count > 2 { throw ConfigError(lineNumber: lineNumber, kind: .unexpectedToken(words[2])) }
        if keyFile != nil { throw ConfigError(lineNumber: lineNumber, kind: .duplicateKeyFile) }
        keyFile = words[1]
    }

    /// `HOST PORT [backup] [rate RATE]`.
    mutating func feedPath(_ words: [String], lineNumber: Int) throws(ConfigError) {
        guard words.count >= 2 else { throw ConfigError(lineNumber: lineNumber, kind: .missingPort(words[0])) }
        let endpoint = try Self.endpoint(host: words[0], port: words[1], lineNumber: lineNumber)
        var isBackup = false
        var rate: RateCap?
        var index = 2
        while index < words.count {
            let option = words[index]
            index += 1
            if Self.isDirective(option, Self.backupOption) {
                guard !isBackup else { throw ConfigError(lineNumber: lineNumber, kind: .duplicateOption(option)) }
                isBackup = true
            } else if Self.isDirective(option, Self.rateOption) {
                guard rate == nil else { throw ConfigError(lineNumber: lineNumber, kind: .duplicateOption(option)) }
                guard index < words.count else { throw ConfigError(lineNumber: lineNumber, kind: .missingRate) }
                rate = try Self.rateCap(words[index], lineNumber: lineNumber)
                index += 1
            } else {
                throw ConfigError(lineNumber: lineNumber, kind: .unknownOption(option))
            }
        }
        let key = Endpoint(host: Self.lowercasedASCII(endpoint.host), port: endpoint.port)
        if pathKeys.contains(key) {
            throw ConfigError(lineNumber: lineNumber, kind: .duplicatePath(endpoint.description))
        }
        guard paths.count < Defaults.maximumPaths else {
            throw ConfigError(lineNumber: lineNumber, kind: .tooManyPaths(limit: Defaults.maximumPaths))
        }
        paths.append(PathConfiguration(endpoint: endpoint, lineNumber: lineNumber, isBackup: isBackup, rate: rate))
        pathKeys.insert(key)
    }

    /// Validates a host word, then a port word.
    static func endpoint(host: String, port: String, lineNumber: Int) throws(ConfigError) -> Endpoint {
        guard let hostName = validatedHost(host) else {
            throw ConfigError(lineNumber: lineNumber, kind: .invalidHost(host))
        }
        return Endpoint(host: hostName, port: try validatedPort(port, lineNumber: lineNumber))
    }
}
