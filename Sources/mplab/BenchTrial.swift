// One fixed-rate trial of `mplab bench`: the lab's load generator sends for a fixed time
// through a topology, and the CPU each process used meanwhile is read from /proc. The
// trial passes when under 1% of the planned datagrams fail to come back: a datagram the
// generator could not send in time counts as lost, so a generator that cannot keep up
// fails the trial as surely as a tunnel that drops.
import Glibc
import MPCore
import MPRuntime

struct BenchTrial {
    /// 1%: the bar for "the highest rate".
    static let lossLimit = 0.01

    let rate: Int
    let load: LoadReport
    /// CPU seconds each process used during the trial, by role; "load" is mplab itself.
    let cpu: [String: Double]
    let wallSeconds: Double

    var planned: Int { load.settings.plannedCount }
    /// Planned datagrams whose echo did not come back intact: lost, unsent or failed.
    var loss: Double { ratio(max(0, planned - load.received), planned) }
    var passed: Bool { loss < Self.lossLimit }

    /// Microseconds of CPU that `role` spent per payload it carried, counting each payload
    /// once on the way to the echo target and once on the way back.
    func cpuMicrosecondsPerPayload(_ role: String) -> Double? {
        guard let seconds = cpu[role], load.sent + load.received > 0 else { return nil }
        return seconds * 1e6 / Double(load.sent + load.received)
    }

    /// Share of one core that `role` used during the trial (1 = a whole core).
    func coreShare(_ role: String) -> Double {
        wallSeconds > 0 ? (cpu[role] ?? 0) / wallSeconds : 0
    }

    var roundTrip: Percentiles { Percentiles(samples: load.tracker.roundTripMicroseconds) }

    /// `64000/s: 0.12% lost`.
    var summary: String {
        "\(rate)/s: \(percent(loss)) lost" + (load.unsent > 0 ? " (\(load.unsent) not sent in time)" : "")
    }
}

/// Runs trials on the lab's loop.
struct BenchTrialRunner {
    let lab: LabLoop
    let seconds: Double

    /// Sends `size`-byte datagrams at `rate` per second through `topology` for `seconds`
    /// (`duration`, when given), then waits at most 1 s for stragglers. Throws when a child
    /// died or SIGINT arrived.
    func run(_ topology: BenchTopology, rate: Int, size: Int, duration: Double? = nil) throws -> BenchTrial {
        try runSideBySide([topology], rate: rate, size: size, duration: duration)[0]
    }

    /// The same load through each of `topologies` at once, one generator each, all paced by
    /// one 1 ms timer that lets each send what is due, the first one changing every tick. A
    /// pause of the machine (a busy neighbour, the host taking the CPU) then delays them
    /// alike, so their round trips compare fairly. One trial per topology, in order.
    func runSideBySide(_ topologies: [BenchTopology], rate: Int, size: Int, duration: Double? = nil) throws
        -> [BenchTrial]
    {
        let durationSeconds = duration ?? seconds
        let generators = try topologies.map {
            let settings = LoadSettings(
                target: $0.entry, rate: rate, size: size, durationSeconds: durationSeconds, flows: 1)
            return try LoadGenerator(settings: settings, lab: lab)
        }
        let roles = topologies.map { [("load", getpid())] + $0.processes.map { ($0.name, $0.pid) } }
        var dead: String?
        let before = roles.map { CPUSample($0) }
        let watchdog = lab.every(.milliseconds(200)) { [unowned lab] in
            dead = topologies.lazy.compactMap(\.deadChild).first
            if dead != nil { lab.stop() }
        }
        var unfinished = generators.count
        for generator in generators {
            generator.start(pacedExternally: true) { [unowned lab] in
                unfinished -= 1
                if unfinished == 0 { lab.stop() }
            }
        }
        var tick = 0
        let pacing = lab.every(LoadGenerator.pacingInterval) {
            for index in generators.indices { generators[(tick + index) % generators.count].sendDue() }
            tick += 1
        }
        // Bounded even if a generator never finishes: its duration, stragglers, a margin.
        lab.run(for: durationSeconds + LoadGenerator.stragglerSeconds + 2)
        pacing.stop()
        watchdog.stop()
        let used = zip(roles, before).map { CPUSample($0.0).since($0.1) }
        if lab.isInterrupted { throw LabError("interrupted") }
        if let dead { throw LabError(dead) }
        return zip(generators, used).map {
            BenchTrial(rate: rate, load: $0.0.report, cpu: $0.1.cpu, wallSeconds: $0.1.wallSeconds)
        }
    }
}
