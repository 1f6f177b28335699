// The report of `mplab cpu`: one row per size and cipher.
extension CPUResult {
    static func markdown(_ results: [CPUResult], command: CPUCommand, machine: BenchMachine) -> String {
        var lines = [
            "Ran \(machine.markdown); load average \(BenchMachine.currentLoadAverage()) at the end.", "",
            "One path, \(command.rate) payloads/s, \(command.rounds) rounds of \(fixed(command.roundSeconds, 1)) s "
                + "per tunnel; CPU µs per payload echoed (each side seals one frame and opens one), medians:", "",
            "| size | cipher | keyless: client / server | sealed: client / server | added: client / server "
                + "(lowest-highest round) | of which user time | libcrypto alone: seal + open | added / libcrypto: client / server "
                + "| host steal |",
            "|--:|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for result in results { lines.append(result.row) }
        return lines.joined(separator: "\n")
    }

    private var row: String {
        let floor = floorSeal + floorOpen
        let cells = [
            "\(size) B", cipher.rawValue, pair(keyless), pair(sealed),
            "\(pair(added)) (\(fixed(addedLowest.client, 2))-\(fixed(addedHighest.client, 2)) / "
                + "\(fixed(addedLowest.server, 2))-\(fixed(addedHighest.server, 2)))",
            pair(addedUser),
            "\(fixed(floorSeal, 2)) + \(fixed(floorOpen, 2)) = \(fixed(floor, 2))",
            "\(fixed(added.client / floor, 2)) / \(fixed(added.server / floor, 2))",
            steal.map { percent($0) } ?? "unknown",
        ]
        return "| " + cells.joined(separator: " | ") + " |"
    }

    private func pair(_ costs: SideCosts) -> String {
        "\(fixed(costs.client, 2)) / \(fixed(costs.server, 2))"
    }
}
