// The lexical rules of mpclient.conf: words, ports and host syntax. Everything works on
// Unicode scalars or UTF-8 bytes, never on Characters: "\r\n" is one Character in Swift,
// and a combining mark must not glue itself to a separator.

extension ConfigParser {
    /// The words of `line` before any `#`, split on spaces, tabs and carriage returns.
    static func words(of line: some StringProtocol) -> [String] {
        var scalars = Substring(line).unicodeScalars
        if let hash = scalars.firstIndex(of: "#") { scalars = scalars[..<hash] }
        return scalars.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            .map { String(Substring($0)) }
    }

    /// Whether `word` is the directive `name` (lowercase), ignoring ASCII case.
    static func isDirective(_ word: String, _ name: String) -> Bool {
        lowercasedASCII(word) == name
    }

    /// Whether a line that starts with no directive is meant as `HOST PORT`: its first word
    /// looks like an address, or its second looks like an attempt at a port.
    static func isPathLine(_ words: [String]) -> Bool {
        let addressMarks: Set<UInt8> = [UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "[")]
        if words[0].utf8.contains(where: addressMarks.contains) { return true }
        guard words.count >= 2, let first = words[1].utf8.first else { return false }
        let startsLikeNumber = isDigit(first) || first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
        return startsLikeNumber && !words[1].utf8.contains(where: addressMarks.contains)
    }

    /// `text` with ASCII letters lowercased (host names compare case-insensitively).
    static func lowercasedASCII(_ text: String) -> String {
        String(decoding: text.utf8.map { isUppercase($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// The port `word` names: decimal digits only (no sign), 1-65535.
    static func validatedPort(_ word: String, lineNumber: Int) throws(ConfigError) -> UInt16 {
        guard !word.isEmpty, word.utf8.allSatisfy(isDigit) else {
            throw ConfigError(lineNumber: lineNumber, kind: .invalidPort(word))
        }
        var value = 0
        for digit in word.utf8 {
            // Saturate just past the range: a 30-digit port must not overflow.
            value = min(value * 10 + Int(digit - UInt8(ascii: "0")), 65_536)
        }
        guard (1...65_535).contains(value) else {
            throw ConfigError(lineNumber: lineNumber, kind: .portOutOfRange(word))
        }
        return UInt16(value)
    }

    /// The host `word` names, with the brackets of `[IPv6]` removed; `nil` when it is no
    /// valid host name or IP literal.
    static func validatedHost(_ word: String) -> String? {
        let bytes = Array(word.utf8)
        if bytes.first == UInt8(ascii: "[") {
            guard bytes.count >= 2, bytes.last == UInt8(ascii: "]") else { return nil }
            let inner = bytes[1..<(bytes.count - 1)]
            return isIPv6(inner) ? String(decoding: inner, as: UTF8.self) : nil
        }
        if bytes.contains(UInt8(ascii: ":")) { return isIPv6(bytes[...]) ? word : nil }
        // All digits and dots cannot be a name (no top-level domain is numeric): IPv4 or nothing.
        if bytes.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: ".") }) {
            return isIPv4(bytes[...]) ? word : nil
        }
        return isHostName(bytes[...]) ? word : nil
    }

    /// A dotted quad of decimal numbers 0-255 without leading zeros (`010` would be octal
    /// to some resolvers and decimal to others).
    static func isIPv4(_ bytes: ArraySlice<UInt8>) -> Bool {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy(isIPv4Part)
    }

    static func isIPv4Part(_ part: ArraySlice<UInt8>) -> Bool {
        guard (1...3).contains(part.count), part.allSatisfy(isDigit) else { return false }
        if part.count > 1 && part.first == UInt8(ascii: "0") { return false }
        return part.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } <= 255
    }

    /// An IPv6 address (RFC 4291 text form: eight groups of 1-4 hex digits, one `::` for a
    /// run of zero groups, an optional dotted quad for the last 32 bits) and an optional
    /// `%zone` of letters, digits, `.`, `_` and `-`.
    static func isIPv6(_ bytes: ArraySlice<UInt8>) -> Bool {
        var address = bytes
        if let percent = bytes.firstIndex(of: UInt8(ascii: "%")) {
            let zone = bytes[(percent + 1)...]
            guard !zone.isEmpty, zone.allSatisfy(isHostNameByte) else { return false }
            address = bytes[..<percent]
        }
        guard let gap = firstDoubleColon(address) else { return ipv6GroupCount(address) == 8 }
        let head = address[..<gap]
        let tail = address[(gap + 2)...]
        guard firstDoubleColon(tail) == nil else { return false }
        let headCount = head.isEmpty ? 0 : ipv6GroupCount(head, allowsIPv4: false)
        let tailCount = tail.isEmpty ? 0 : ipv6GroupCount(tail)
        guard let headCount, let tailCount else { return false }
        return headCount + tailCount <= 7
    }

    /// The index of the first `::` in `bytes`.
    static func firstDoubleColon(_ bytes: ArraySlice<UInt8>) -> Int? {
        let colon = UInt8(ascii: ":")
        return bytes.indices.first { bytes[$0] == colon && $0 + 1 < bytes.endIndex && bytes[$0 + 1] == colon }
    }

    /// How many 16-bit groups `bytes` (groups separated by single colons) stands for; a
    /// dotted quad at the end counts as two. `nil` when a group is malformed.
    static func ipv6GroupCount(_ bytes: ArraySlice<UInt8>, allowsIPv4: Bool = true) -> Int? {
        let groups = bytes.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        for (index, group) in groups.enumerated() {
            let isLast = index == groups.count - 1
            if isLast && allowsIPv4 && group.contains(UInt8(ascii: ".")) {
                return isIPv4(group) ? groups.count + 1 : nil
            }
            guard (1...4).contains(group.count), group.allSatisfy(isHexDigit) else { return nil }
        }
        return groups.count
    }

    /// A host name: at most 253 bytes (one trailing `.` aside), labels of 1-63 bytes of
    /// letters, digits, `-` and `_`, no label beginning or ending with `-`.
    static func isHostName(_ bytes: ArraySlice<UInt8>) -> Bool {
        var name = bytes
        if name.last == UInt8(ascii: ".") { name = name.dropLast() }
        guard (1...253).contains(name.count) else { return false }
        let hyphen = UInt8(ascii: "-")
        return name.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count) && label.first != hyphen && label.last != hyphen
                && label.allSatisfy(isHostNameByte)
        }
    }

    /// Letters, digits, `-`, `_` and `.`.
    static func isHostNameByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || isUppercase(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    static func isUppercase(_ byte: UInt8) -> Bool { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// The lowest and highest rates a `rate` option takes, bits per second: 8 kbit/s (a
    /// frame a second), 100 Gbit/s.
    static let rateRange = 8_000.0...100e9

    /// A `rate` option's value: a decimal number and a unit, `bit`, `kbit`, `mbit` or `gbit`
    /// (as tc writes them), or `/s` for datagrams per second (1 to 10,000,000).
    static func rateCap(_ word: String, lineNumber: Int) throws(ConfigError) -> RateCap {
        let text = lowercasedASCII(word)
        let units: [(String, Double)] = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1), ("/s", 0)]
        guard let (unit, scale) = units.first(where: { text.hasSuffix($0.0) }),
            let value = decimalValue(String(text.dropLast(unit.count))), value > 0
        else { throw ConfigError(lineNumber: lineNumber, kind: .invalidRate(word)) }
        if scale == 0 {
            guard (1...10_000_000).contains(value) else {
                throw ConfigError(lineNumber: lineNumber, kind: .rateOutOfRange(word))
            }
            return .datagramsPerSecond(value)
        }
        guard rateRange.contains(value * scale) else {
            throw ConfigError(lineNumber: lineNumber, kind: .rateOutOfRange(word))
        }
        return .bitsPerSecond(value * scale)
    }

    /// A plain decimal number (digits, at most one point, at most 12 digits); `nil` otherwise.
    static func decimalValue(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        let points = bytes.filter { $0 == UInt8(ascii: ".") }.count
        let digits = bytes.filter(isDigit).count
        guard digits > 0, digits <= 12, points <= 1, digits + points == bytes.count else { return nil }
        return Double(text)
    }
}

extension RateCap {
    /// A rate as mpclient.conf's `rate` option takes it (`7mbit`, `600/s`); `nil` when the
    /// config would reject it.
    public init?(parsing word: String) {
        guard let cap = try? ConfigParser.rateCap(word, lineNumber: 0) else { return nil }
        self = cap
    }
}
