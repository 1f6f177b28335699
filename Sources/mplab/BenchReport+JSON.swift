// The benchmark's results as one JSON object, for programs that track them over time.
extension BenchReport {
    var json: JSONValue {
        .object([
            ("machine", machine.json), ("command", .string(command)), ("trialSeconds", .number(trialSeconds)),
            ("latencyRate", .integer(latencyRate)), ("cases", .array(cases.map(caseJSON))),
            ("sessions", .array(sessions.map(\.json))), ("endLoadAverage", .string(endLoadAverage)),
        ])
    }

    private func caseJSON(_ item: BenchCase) -> JSONValue {
        var members: [(String, JSONValue)] = [("name", .string(item.name)), ("size", .integer(item.size))]
        switch item.kind {
        case .reference:
            members.append(("kind", .string("reference")))
        case .tunnel(let paths, let sealing):
            members += [
                ("kind", .string("tunnel")), ("paths", .integer(paths)), ("sealing", .string(sealing.rawValue)),
            ]
        }
        members += [
            ("highestRate", .integer(item.search.bestRate)),
            ("lowestFailedRate", item.search.lowestFailure.map { .integer($0) } ?? .string("none")),
            ("trials", .array(item.search.trials.map(trialJSON))),
            ("latency", trialJSON(item.latency.trial)),
            ("latencyBeside", item.latency.beside.map(trialJSON) ?? .string("none")),
            ("latencyStealPercent", item.latency.steal.map { .number($0 * 100) } ?? .string("unknown")),
            (
                "residentKilobytes",
                .object(item.residentKilobytes.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })
            ),
        ]
        if let ratio = rateRatio(item) { members.append(("rateRatio", .number(ratio))) }
        if let added = addedP99(item) { members.append(("addedP99Microseconds", .integer(added))) }
        return .object(members)
    }

    private func trialJSON(_ trial: BenchTrial) -> JSONValue {
        let trip = trial.roundTrip
        return .object([
            ("rate", .integer(trial.rate)), ("planned", .integer(trial.planned)), ("sent", .integer(trial.load.sent)),
            ("received", .integer(trial.load.received)), ("lossPercent", .number(trial.loss * 100)),
            ("passed", .integer(trial.passed ? 1 : 0)),
            (
                "rttMicroseconds",
                .object([
                    ("p50", .integer(Int(trip.value(at: 0.5)))), ("p99", .integer(Int(trip.value(at: 0.99)))),
                    ("p999", .integer(Int(trip.value(at: 0.999)))),
                ])
            ),
            ("cpuSeconds", .object(trial.cpu.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) })),
            ("wallSeconds", .number(trial.wallSeconds)),
        ])
    }
}
