// The benchmark's Markdown: the machine, the main table, where the CPU went in the
// fastest passing trial of each case (who the bottleneck was), and the sessions phase.
extension BenchReport {
    var markdown: String {
        var lines = [
            "Ran \(machine.date) on \(machine.processors) CPUs (\(machine.cpuModel)), \(machine.kernel), "
                + "Swift \(machine.swiftVersion); load average \(machine.loadAverage) at the start, "
                + "\(endLoadAverage) at the end.",
            "",
            "Command: `\(command)`",
            "",
        ]
        lines += mainTable + [""] + cpuTable + [""] + quietCPUTable
        if !sessions.isEmpty { lines += [""] + sessionsTable }
        return lines.joined(separator: "\n") + "\n"
    }

    private var mainTable: [String] {
        var lines = [
            "| case | highest rate, < 1% loss (datagrams/s each way) | reference | tunnel / reference "
                + "| round trip p50 / p99 / p99.9 µs at \(grouped(latencyRate))/s "
                + "| relay chain beside it: p50 / p99 / p99.9 µs | added p99 µs | host steal meanwhile "
                + "| CPU µs per datagram: client side / server side | resident memory MB: client / server |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for item in cases {
            let trip = item.latency.trial.roundTrip
            let beside = item.latency.beside.map { percentiles($0.roundTrip) } ?? ""
            let ratio = rateRatio(item)
            let cpu =
                item.search.best.map {
                    decimal($0.cpuMicrosecondsPerPayload(item.clientRole), digits: 1) + " / "
                        + decimal($0.cpuMicrosecondsPerPayload(item.serverRole), digits: 1)
                } ?? "–"
            let memory = [item.clientRole, item.serverRole].map {
                decimal(item.residentKilobytes[$0].map { Double($0) / 1024 }, digits: 1)
            }.joined(separator: " / ")
            let isReference = item.kind == .reference
            lines.append(
                "| \(item.name) | \(rateText(item.search)) "
                    + "| \(isReference ? "" : reference(size: item.size).map { grouped($0.search.bestRate) } ?? "–") "
                    + "| \(isReference ? "" : ratio.map { percent($0, digits: 0) } ?? "–") "
                    + "| \(percentiles(trip)) | \(beside) "
                    + "| \(isReference ? "" : addedP99(item).map(String.init) ?? "–") "
                    + "| \(item.latency.steal.map { percent($0, digits: 1) } ?? "–") | \(cpu) | \(memory) |")
        }
        return lines
    }

    /// `231 / 512 / 1830`.
    private func percentiles(_ trip: Percentiles) -> String {
        "\(trip.value(at: 0.5)) / \(trip.value(at: 0.99)) / \(trip.value(at: 0.999))"
    }

    /// `48,000`, or `≥ 400,000` when the search stopped at its ceiling.
    private func rateText(_ search: BenchSearchResult) -> String {
        guard search.best != nil else { return "none" }
        return (search.lowestFailure == nil ? "≥ " : "") + grouped(search.bestRate)
    }

    private var cpuTable: [String] {
        var lines = [
            "Share of one core each process used during the fastest passing trial of each case "
                + "(\(decimal(trialSeconds)) s trials; 100% means that process was the bottleneck):",
            "",
            "| case | load generator | client side | bridge(s) | server side | echo |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for item in cases {
            guard let best = item.search.best else { continue }
            let bridges = best.cpu.keys.filter { $0.hasPrefix("bridge") }.sorted()
            let bridgeText = bridges.map { percent(best.coreShare($0), digits: 0) }.joined(separator: " + ")
            lines.append(
                "| \(item.name) | \(percent(best.coreShare("load"), digits: 0)) "
                    + "| \(percent(best.coreShare(item.clientRole), digits: 0)) | \(bridgeText) "
                    + "| \(percent(best.coreShare(item.serverRole), digits: 0)) "
                    + "| \(percent(best.coreShare("echo"), digits: 0)) |")
        }
        return lines
    }

    /// CPU per datagram at the latency rate, where every datagram finds the caches cold
    /// (a process sleeps between two, and the others run meanwhile).
    private var quietCPUTable: [String] {
        var lines = [
            "CPU per datagram during the round trips at \(grouped(latencyRate))/s, each process waking for "
                + "nearly every datagram:",
            "",
            "| case | CPU µs per datagram: client side / server side |",
            "|---|--:|",
        ]
        for item in cases {
            let trial = item.latency.trial
            lines.append(
                "| \(item.name) | \(decimal(trial.cpuMicrosecondsPerPayload(item.clientRole), digits: 1)) / "
                    + "\(decimal(trial.cpuMicrosecondsPerPayload(item.serverRole), digits: 1)) |")
        }
        return lines
    }

    private var sessionsTable: [String] {
        var lines = [
            "| sessions on one mpserver | sealing | datagrams/s per session | sessions with all echoes "
                + "| echoes per session: min / median / max | mpserver memory MB: before / after "
                + "| KB per session | mpserver CPU |",
            "|--:|---|--:|--:|--:|--:|--:|--:|",
        ]
        for result in sessions {
            lines.append(
                "| \(grouped(result.count)) | \(result.sealing.rawValue) | \(decimal(result.ratePerSession)) "
                    + "| \(grouped(result.completeSessions)) "
                    + "| \(result.minimumEchoes) / \(result.medianEchoes) / \(result.maximumEchoes) "
                    + "| \(decimal(Double(result.residentBefore) / 1024)) / \(decimal(Double(result.residentAfter) / 1024)) "
                    + "| \(decimal(result.kilobytesPerSession)) | \(percent(result.serverCoreShare, digits: 0)) of a core |"
            )
        }
        return lines
    }
}
