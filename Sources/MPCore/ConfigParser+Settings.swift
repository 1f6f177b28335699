// The settings directives of mpclient.conf beyond `listen` and `key-file`: the scheduling
// mode, the probe interval, the reorder window, the control socket's path and the metrics
// port.

extension ConfigParser {
    /// `mode duplicate|balance|fec [K:M]` (the words match case-insensitively; `fec` alone is
    /// `fec 4:2`).
    mutating func feedMode(_ words: [String], lineNumber: Int) throws(ConfigError) {
        guard words.count >= 2 else {
            throw ConfigError(lineNumber: lineNumber, kind: .missingValue(Self.modeDirective))
        }
        guard let value = SchedulingMode(rawValue: Self.lowercasedASCII(words[1])) else {
            throw ConfigError(lineNumber: lineNumber, kind: .invalidMode(words[1]))
        }
        var shards: (Int, Int)?
        if value == .fec, words.count > 2 { shards = try Self.fecShards(words[2], lineNumber: lineNumber) }
        let extra = value == .fec ? 3 : 2
        if words.count > extra { throw ConfigError(lineNumber: lineNumber, kind: .unexpectedToken(words[extra])) }
        guard mode == nil else { throw duplicate(Self.modeDirective, lineNumber) }
        mode = value
        fecShards = shards
    }

    /// `K:M` of `mode fec`: K 1-``Defaults/maximumFECDataShards``, M 1-``Defaults/maximumFECParityShards``.
    static func fecShards(_ word: String, lineNumber: Int) throws(ConfigError) -> (Int, Int) {
        let parts = word.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 2 && $0.utf8.allSatisfy(isDigit) }),
            let dataShards = Int(parts[0]), let parityShards = Int(parts[1]),
            (1...Defaults.maximumFECDataShards).contains(dataShards),
            (1...Defaults.maximumFECParityShards).contains(parityShards)
        else { throw ConfigError(lineNumber: lineNumber, kind: .invalidFECShards(word)) }
        return (dataShards, parityShards)
    }

    /// `fec-timeout MS`: 1 to ``Defaults/maximumFECTimeout``.
    mutating func feedFECTimeout(_ words: [String], lineNumber: Int) throws(ConfigError) {
        let value = try Self.milliseconds(words, minimum: 1, lineNumber: lineNumber)
        let maximum = Int(Defaults.maximumFECTimeout.nanoseconds / 1_000_000)
        guard value <= Defaults.maximumFECTimeout else {
            throw ConfigError(
                lineNumber: lineNumber,
                kind: .millisecondsOutOfRange(Self.fecTimeoutDirective, words[1], minimum: 1, maximum: maximum))
        }
        guard fecTimeout == nil else { throw duplicate(Self.fecTimeoutDirective, lineNumber) }
        fecTimeout = value
    }

    /// `reorder-window auto|off|MS` (the words match case-insensitively).
    mutating func feedReorderWindow(_ words: [String], lineNumber: Int) throws(ConfigError) {
        let name = Self.reorderWindowDirective
        guard words.count >= 2 else { throw ConfigError(lineNumber: lineNumber, kind: .missingValue(name)) }
        let value: ReorderWindow
        switch Self.lowercasedASCII(words[1]) {
        case "auto": value = .auto
        case "off": value = .off
        default:
            guard let first = words[1].utf8.first, Self.isDigit(first) else {
                throw ConfigError(lineNumber: lineNumber, kind: .invalidReorderWindow(words[1]))
            }
            value = .fixed(try Self.milliseconds(words, minimum: 1, lineNumber: lineNumber))
        }
        if words.count > 2 { throw ConfigError(lineNumber: lineNumber, kind: .unexpectedToken(words[2])) }
        guard reorderWindow == nil else { throw duplicate(name, lineNumber) }
        reorderWindow = value
    }

    /// `fastest-copies auto|N`: N from 1 to ``Defaults/maximumFastestCopies``.
    mutating func feedFastestCopies(_ words: [String], lineNumber: Int) throws(ConfigError) {
        let name = Self.fastestCopiesDirective
        guard words.count >= 2 else { throw ConfigError(lineNumber: lineNumber, kind: .missingValue(name)) }
        if words.count > 2 { throw ConfigError(lineNumber: lineNumber, kind: .unexpectedToken(words[2])) }
        let value: FastestCopies
        if Self.lowercasedASCII(words[1]) == "auto" {
            value = .auto
        } else {
            guard words[1].utf8.count <= 2, words[1].utf8.allSatisfy(Self.isDigit), let count = Int(words[1]),
                (1...Defaults.maximumFastestCopies).contains(count)
            else { throw ConfigError(lineNumber: lineNumber, kind: .invalidFastestCopies(words[1])) }
            value = .fixed(count)
        }
        guard fastestCopies == nil else { throw duplicate(name, lineNumber) }
        fastestCopies = value
    }

    /// `status-socket PATH`: one word, taken as written.
    mutating func feedStatusSocket(_ words: [String], lineNumber: Int) throws(ConfigError) {
        guard words.count >= 2 else {
            throw ConfigError(lineNumber: lineNumber, kind: .missingPath(Self.statusSocketDirective))
        }
        if words.count > 2 { throw ConfigError(lineNumber: lineNumber, kind: .unexpectedToken(words[2])) }
        guard statusSocket == nil else { throw duplicate(Self.statusSocketDirective, lineNumber) }
        statusSocket = words[1]
    }

    /// `metrics-port PORT`: 1-65535, on 127.0.0.1.
    mutating func feedMetricsPort(_ words: [String], lineNumber: Int) throws(ConfigError) {
        guard words.count >= 2 else {
            throw ConfigError(lineNumber: lineNumber, kind: .missingValue(Self.metricsPortDirective))
        }
        if words.count > 2 { throw ConfigError(lineNumber: lineNumber, kind: .unexpectedToken(words[2])) }
        let port = try Self.validatedPort(words[1], lineNumber: lineNumber)
        guard metricsPort == nil else { throw duplicate(Self.metricsPortDirective, lineNumber) }
        metricsPort = port
    }

    /// The milliseconds of `DIRECTIVE MS`: decimal digits, `minimum` to
    /// ``Defaults/maximumConfigMilliseconds``.
    static func milliseconds(_ words: [String], minimum: Int, lineNumber: Int) throws(ConfigError) -> TimeSpan {
        let name = lowercasedASCII(words[0])
        guard words.count >= 2 else { throw ConfigError(lineNumber: lineNumber, kind: .missingValue(name)) }
        if words.count > 2 { throw ConfigError(lineNumber: lineNumber, kind: .unexpectedToken(words[2])) }
        let word = words[1]
        guard !word.isEmpty, word.utf8.allSatisfy(isDigit) else {
            throw ConfigError(lineNumber: lineNumber, kind: .invalidMilliseconds(name, word))
        }
        var value = 0
        for digit in word.utf8 {
            // Saturate just past the range: a 30-digit value must not overflow.
            value = min(value * 10 + Int(digit - UInt8(ascii: "0")), Defaults.maximumConfigMilliseconds + 1)
        }
        guard (minimum...Defaults.maximumConfigMilliseconds).contains(value) else {
            throw ConfigError(
                lineNumber: lineNumber,
                kind: .millisecondsOutOfRange(name, word, minimum: minimum, maximum: Defaults.maximumConfigMilliseconds)
            )
        }
        return .milliseconds(UInt64(value))
    }

    func duplicate(_ name: String, _ lineNumber: Int) -> ConfigError {
        ConfigError(lineNumber: lineNumber, kind: .duplicateDirective(name))
    }
}
