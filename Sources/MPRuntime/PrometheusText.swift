// Prometheus's text exposition format, written straight into one growing string: the
// metrics pages of both daemons are built with it on the event loop, so a sample costs a few
// appends and no intermediate arrays.

/// Prometheus's text exposition format (version 0.0.4): per metric a HELP and a TYPE line,
/// then its samples with labels.
struct PrometheusText {
    private(set) var text = ""
    /// Samples written so far.
    private(set) var sampleCount = 0

    /// A page expected to hold about `samples` samples (its string is reserved once).
    init(samples: Int = 64) {
        // About 100 bytes a sample, labels included.
        text.reserveCapacity(samples * 100)
    }

    /// Starts metric `name` (its samples follow with ``sample(_:_:labels:)``).
    mutating func metric(_ name: String, _ type: String, help: String) {
        text += "# HELP "
        text += name
        text += " "
        text += help
        text += "\n# TYPE "
        text += name
        text += " "
        text += type
        text += "\n"
    }

    /// One sample of `name` with `labels` (values escaped as the format asks).
    mutating func sample(_ name: String, _ value: Double, labels: KeyValuePairs<String, String> = [:]) {
        sampleCount += 1
        text += name
        if !labels.isEmpty {
            text += "{"
            for (index, label) in labels.enumerated() {
                if index > 0 { text += "," }
                text += label.key
                text += "=\""
                appendEscaped(label.value)
                text += "\""
            }
            text += "}"
        }
        text += " "
        text += Self.number(value)
        text += "\n"
    }

    /// `value` as the format writes numbers: integers without a fraction.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Appends `value` as a label value: backslash, double quote and newline escaped.
    private mutating func appendEscaped(_ value: String) {
        // Label values are mostly hex ids and numbers: append them whole when nothing needs escaping.
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 10 }) else {
            text += value
            return
        }
        for character in value {
            switch character {
            case "\\": text += "\\\\"
            case "\"": text += "\\\""
            case "\n": text += "\\n"
            default: text.append(character)
            }
        }
    }
}
