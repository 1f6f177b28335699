// The benchmark's results: one case per topology and datagram size, rendered as the
// Markdown table BENCHMARKS.md holds, or as JSON for programs.
struct BenchCase {
    enum Kind: Equatable {
        /// The relay chain without the tunnel.
        case reference
        case tunnel(paths: Int, sealing: BenchSealing)

        /// `reference, 64 B` or `3 paths, 1200 B, sealed`.
        func name(size: Int) -> String {
            switch self {
            case .reference: "reference, \(size) B"
            case .tunnel(let paths, let sealing):
                "\(paths) path\(paths == 1 ? "" : "s"), \(size) B, \(sealing.rawValue)"
            }
        }
    }

    let kind: Kind
    let size: Int
    let search: BenchSearchResult
    /// The round trips at the fixed moderate rate.
    let latency: BenchLatency
    /// Resident kilobytes of each process after the search, by role.
    let residentKilobytes: [String: Int]

    /// The roles in the places of mpclient and mpserver: the daemons, or relays A and B.
    var clientRole: String { kind == .reference ? "relay A" : "mpclient" }
    var serverRole: String { kind == .reference ? "relay B" : "mpserver" }

    var name: String { kind.name(size: size) }
}

/// The round trips of one case at the fixed moderate rate: its trial, for a tunnel the
/// trial of the relay chain that carried the same load beside it, and the share of CPU
/// time the host stole meanwhile (nil: unknown).
struct BenchLatency {
    let trial: BenchTrial
    let beside: BenchTrial?
    let steal: Double?
}

struct BenchReport {
    let machine: BenchMachine
    let command: String
    let trialSeconds: Double
    let latencyRate: Int
    let cases: [BenchCase]
    let sessions: [SessionsResult]
    /// /proc/loadavg's 1-minute load when the run ended.
    let endLoadAverage: String

    func reference(size: Int) -> BenchCase? {
        cases.first { $0.kind == .reference && $0.size == size }
    }

    /// The tunnel's highest rate over the reference's for the same size.
    func rateRatio(_ item: BenchCase) -> Double? {
        guard let reference = reference(size: item.size), reference.search.bestRate > 0 else { return nil }
        return Double(item.search.bestRate) / Double(reference.search.bestRate)
    }

    /// The tunnel's p99 round trip less that of the relay chain measured beside it, in
    /// microseconds.
    func addedP99(_ item: BenchCase) -> Int? {
        guard let beside = item.latency.beside else { return nil }
        return Int(item.latency.trial.roundTrip.value(at: 0.99)) - Int(beside.roundTrip.value(at: 0.99))
    }
}

/// `1234567` → `1,234,567`.
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result += "," }
        result.append(digit)
    }
    return (value < 0 ? "-" : "") + result
}

/// `value` with `digits` decimals (`3.14`), or `–` when nil.
func decimal(_ value: Double?, digits: Int = 1) -> String {
    guard let value, value.isFinite else { return "–" }
    let scale = (0..<digits).reduce(1.0) { product, _ in product * 10 }
    let scaled = Int((value * scale).rounded())
    guard digits > 0 else { return grouped(scaled) }
    let whole = grouped(abs(scaled) / Int(scale))
    let fraction = String(abs(scaled) % Int(scale))
    let padding = String(repeating: "0", count: digits - fraction.count)
    return (scaled < 0 ? "-" : "") + whole + "." + padding + fraction
}
