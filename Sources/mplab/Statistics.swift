// Small numeric helpers shared by the lab's subcommands: the relays' drop decisions (from
// MPLabSupport's seeded generator), percentiles of round-trip times, and rates for reports.
import MPLabSupport

/// Decides, independently for each datagram, whether to drop it with a fixed probability.
struct DropDecider {
    private var generator: SplitMix64
    /// In 0...1: 0 never drops, 1 always drops.
    let probability: Double

    init(probability: Double, seed: UInt64) {
        self.probability = probability
        generator = SplitMix64(seed: seed)
    }

    mutating func shouldDrop() -> Bool {
        // 53 random bits make a uniform Double in [0, 1): `< 1` always holds, `< 0` never.
        Double(generator.next() >> 11) * 0x1p-53 < probability
    }
}

/// Percentiles of samples by the nearest-rank method.
struct Percentiles {
    private let sorted: [UInt32]

    init(samples: [UInt32]) {
        sorted = samples.sorted()
    }

    var isEmpty: Bool { sorted.isEmpty }

    /// The sample at `fraction` (0...1) of the way through; 0 when there are no samples.
    func value(at fraction: Double) -> UInt32 {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

/// `part / whole` as a fraction, 0 when `whole` is 0.
func ratio(_ part: Int, _ whole: Int) -> Double {
    whole == 0 ? 0 : Double(part) / Double(whole)
}

/// A fraction as a percentage with `digits` decimals: `0.0061` → `0.61%`.
func percent(_ fraction: Double, digits: Int = 2) -> String {
    let scale = (0..<digits).reduce(1) { product, _ in product * 10 }
    let scaled = Int((fraction * 100 * Double(scale)).rounded())
    guard digits > 0 else { return "\(scaled)%" }
    let decimals = String(scaled % scale)
    let padding = String(repeating: "0", count: digits - decimals.count)
    return "\(scaled / scale).\(padding)\(decimals)%"
}
