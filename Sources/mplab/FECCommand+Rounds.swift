// `mplab fec --rounds N`: the coding cost judged against its noise. The daemons' CPU per
// payload swings by a third from run to run on a shared machine, as the relays and other
// programs wake them more or less often; each round measures every mode back to back, so
// a mode's ratio to duplicate mode's of the same round, and the median over rounds, are
// steadier than any one figure.

extension FECResult {
    /// Per row and mode other than duplicate: CPU per payload over duplicate mode's in the
    /// same round, each round and the median. Empty without duplicate mode among `modes`.
    static func cpuRatios(_ results: [FECResult], rows: [FECRow], modes: [FECMode]) -> String {
        guard modes.contains(where: { $0.name == "duplicate" }) else { return "" }
        var lines = [""]
        for row in rows {
            let duplicate = results.filter { $0.row.name == row.name && $0.mode.name == "duplicate" }
            for mode in modes where mode.name != "duplicate" {
                let coded = results.filter { $0.row.name == row.name && $0.mode.name == mode.name }
                let ratios = zip(coded, duplicate).map { $0.cpuPerPayload / max($1.cpuPerPayload, 1e-9) }
                let text = ratios.map { format2($0) }.joined(separator: ", ")
                lines.append(
                    "CPU per payload, \(row.name), \(mode.name) over duplicate: \(text); median \(format2(median(ratios)))"
                )
            }
        }
        return lines.joined(separator: "\n")
    }
}

private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// `value` with two decimals.
private func format2(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
