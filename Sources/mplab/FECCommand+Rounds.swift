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
                let text = ratios.map { fixed($0, 2) }.joined(separator: ", ")
                lines.append(
                    "CPU per payload, \(row.name), \(mode.name) over duplicate: \(text); median \(fixed(median(ratios), 2))"
                )
            }
        }
        return lines.joined(separator: "\n")
    }
}
