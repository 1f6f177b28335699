// `mplab fec --rounds N`: the coding cost and the added latency judged against their
// noise. The daemons' CPU per payload swings by a third from run to run on a shared
// machine, as the relays and other programs wake them more or less often; each round
// measures every mode back to back, so a mode's ratio to duplicate mode's of the same
// round, and the median over rounds, are steadier than any one figure.

extension FECResult {
    /// Per row and mode other than duplicate: CPU per payload over duplicate mode's in the
    /// same round, and round trip p99 less duplicate mode's (a p99 of 20,000 round trips
    /// moves by hundreds of µs from run to run here), each round and the median. Empty
    /// without duplicate mode among `modes`.
    static func roundComparisons(_ results: [FECResult], rows: [FECRow], modes: [FECMode]) -> String {
        guard modes.contains(where: { $0.name == "duplicate" }) else { return "" }
        var lines = [""]
        for row in rows {
            let duplicate = results.filter { $0.row.name == row.name && $0.mode.name == "duplicate" }
            for mode in modes where mode.name != "duplicate" {
                let coded = results.filter { $0.row.name == row.name && $0.mode.name == mode.name }
                let ratios = zip(coded, duplicate).map { $0.cpuPerPayload / max($1.cpuPerPayload, 1e-9) }
                let text = ratios.map { fixed($0, 2) }.joined(separator: ", ")
                lines.append(
                    "CPU per payload, \(row.name), \(mode.name) over duplicate: \(text); median \(fixed(median(ratios), 2))"
                )
                let added = zip(coded, duplicate).map {
                    Double($0.roundTrip.value(at: 0.99)) - Double($1.roundTrip.value(at: 0.99))
                }
                lines.append(
                    "round trip p99 µs, \(row.name), \(mode.name) less duplicate: "
                        + added.map { String(Int($0)) }.joined(separator: ", ") + "; median \(Int(median(added)))")
            }
        }
        return lines.joined(separator: "\n")
    }
}
