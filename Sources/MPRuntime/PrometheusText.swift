// Prometheus's text exposition format, written as bytes into one buffer reserved up front:
// the metrics pages of both daemons are built with it on the event loop, so a sample costs a
// few copies of bytes and no intermediate strings (appending to a String cost 1 µs a sample,
// 2 ms for a full page).

/// Prometheus's text exposition format (version 0.0.4): per metric a HELP and a TYPE line,
/// then its samples with labels.
struct PrometheusText {
    private var bytes: [UInt8] = []
    /// Samples written so far.
    private(set) var sampleCount = 0

    /// A page expected to hold about `samples` samples (its buffer is reserved once).
    init(samples: Int = 64) {
        // About 100 bytes a sample, labels included.
        bytes.reserveCapacity(samples * 100)
    }

    /// The page so far.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Starts metric `name` (its samples follow with ``sample(_:_:labels:)``).
    mutating func metric(_ name: String, _ type: String, help: String) {
        append("# HELP ")
        append(name)
        append(" ")
        append(help)
        append("\n# TYPE ")
        append(name)
        append(" ")
        append(type)
        append("\n")
    }

    /// One sample of `name` with `labels` (values escaped as the format asks).
    mutating func sample(_ name: String, _ value: Double, labels: KeyValuePairs<String, String> = [:]) {
        sampleCount += 1
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (index, label) in labels.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                append(label.key)
                append("=\"")
                appendEscaped(label.value)
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        appendNumber(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// `value` as the format writes numbers: integers without a fraction.
    private mutating func appendNumber(_ value: Double) {
        if value.isNaN {
            append("NaN")
        } else if value.isInfinite {
            append(value > 0 ? "+Inf" : "-Inf")
        } else if value == value.rounded(), abs(value) < 1e15 {
            appendInteger(Int64(value))
        } else {
            append("\(value)")
        }
    }

    /// Digits written straight into the buffer, most significant first.
    private mutating func appendInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }

    /// Appends `value` as a label value: backslash, double quote and newline escaped.
    private mutating func appendEscaped(_ value: String) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
    }
}
