// Parsing and checking of the lab's flag values. Every error quotes what the user typed.
import ArgumentParser
import MPCore
import MPRuntime

/// Parses a destination `HOST:PORT`, port 1-65535: see ``parseAddress(_:allowingPortZero:)``.
func parseDestination(_ text: String) throws -> SocketAddress {
    try parseAddress(text, allowingPortZero: false)
}

/// Parses a listen address `HOST:PORT`, where port 0 lets the kernel pick.
func parseListenAddress(_ text: String) throws -> SocketAddress {
    try parseAddress(text, allowingPortZero: true)
}

/// Parses `HOST:PORT` (`127.0.0.1:4000`, `[::1]:4000`, `localhost:4000`) and resolves the
/// host; the first address wins.
func parseAddress(_ text: String, allowingPortZero: Bool) throws -> SocketAddress {
    guard let colon = text.lastIndex(of: ":") else {
        throw LabError("`\(text)' is not HOST:PORT (for example 127.0.0.1:4000)")
    }
    let host = String(text[..<colon])
    let portText = text[text.index(after: colon)...]
    guard let port = UInt16(portText), port != 0 || allowingPortZero else {
        let range = allowingPortZero ? "0-65535" : "1-65535"
        throw LabError("port `\(portText)' in `\(text)' is out of range \(range)")
    }
    guard !host.contains(":") || host.hasPrefix("[") else {
        throw LabError("`\(text)': write an IPv6 address in brackets, as in [::1]:4000")
    }
    do {
        return try Resolver.resolve(host: host, port: port)[0]
    } catch {
        throw LabError("\(error)")
    }
}

/// Parses a drop probability in 0...1 (`0.2`).
func parseProbability(_ text: String) throws -> Double {
    guard let value = Double(text), value >= 0, value <= 1 else {
        throw LabError("drop probability `\(text)' must be a number from 0 to 1")
    }
    return value
}

/// Parses `0.1,0.2,0.3`: one drop probability per path.
func parseProbabilities(_ text: String) throws -> [Double] {
    let values = try text.split(separator: ",", omittingEmptySubsequences: false).map {
        try parseProbability(String($0))
    }
    guard (1...Defaults.maximumPaths).contains(values.count) else {
        throw LabError("`\(text)' must list 1 to \(Defaults.maximumPaths) drop probabilities")
    }
    return values
}

/// Parses a duration in seconds: positive, at most a day.
func parseSeconds(_ text: String) throws -> Double {
    // A day: far past any lab run, and small enough that timers stay exact.
    guard let value = Double(text), value > 0, value <= 86_400 else {
        throw LabError("duration `\(text)' must be a number of seconds above 0 and at most 86400")
    }
    return value
}

/// A relay's `--rate`: unlimited (`cap` nil), or datagrams or bits per second.
struct RelayRate {
    var cap: RateCap?
}

/// Parses a relay's `--rate`: a whole number of datagrams per second (0: unlimited), or a
/// rate as mpclient.conf writes one: `600/s`, or bits per second on the line (`6mbit`).
func parseRelayRate(_ text: String) throws -> RelayRate {
    if let count = Int(text), (0...1_000_000).contains(count) {
        return RelayRate(cap: count == 0 ? nil : .datagramsPerSecond(Double(count)))
    }
    guard let rate = RateCap(parsing: text) else {
        throw LabError(
            "rate `\(text)' must be datagrams per second (0-1000000, or 600/s) or bits per second (6mbit, 700kbit)")
    }
    return RelayRate(cap: rate)
}

/// Checks that `value` lies in `range`, naming the flag and quoting the value otherwise.
func check(_ value: Int, in range: ClosedRange<Int>, flag: String) throws {
    guard range.contains(value) else {
        throw ValidationError("\(flag) `\(value)' is out of range \(range.lowerBound)-\(range.upperBound)")
    }
}
