// The phases of `mplab bench`, in order: for each size the reference and then each tunnel
// case side by side, each on fresh processes; then the sessions phase. Progress goes to
// standard error as it happens.
import Glibc
import MPCore
import MPLabSupport
import MPRuntime

struct BenchRun {
    /// Seconds for a fresh topology to answer its first knock.
    static let startTimeout = 10.0
    /// Seconds of load before the round trips are measured, not counted: the fresh
    /// processes' first datagrams fault in their pages and fill their caches.
    static let warmUpSeconds = 1.0
    /// Host steal under which a latency round ends the search for a quiet one: 0.5% of
    /// the CPU time.
    static let quietSteal = 0.005

    let command: BenchCommand
    let workspace: DemoWorkspace
    let lab: LabLoop

    func run() throws -> BenchReport {
        let machine = BenchMachine.current(directory: workspace.directory)
        warn("mplab bench: \(machine.markdown)")
        let keyFile = command.sealing.contains(.sealed) ? try Self.makeKeyFile(in: workspace) : nil
        var cases: [BenchCase] = []
        for size in command.sizes {
            cases.append(try measure(.reference, size: size, keyFile: nil))
            for paths in command.paths {
                for sealing in command.sealing {
                    cases.append(try measure(.tunnel(paths: paths, sealing: sealing), size: size, keyFile: keyFile))
                }
            }
        }
        var sessionResults: [SessionsResult] = []
        if command.sessions > 0 {
            let settings = SessionsSettings(
                count: command.sessions, ratePerSession: command.sessionRate, seconds: command.sessionSeconds, size: 64)
            for sealing in command.sealing {
                warn("mplab bench: \(command.sessions) sessions, \(sealing.rawValue)")
                let result = try SessionsRun(settings: settings, workspace: workspace, lab: lab).run(sealing: sealing)
                warn("  " + result.summary)
                sessionResults.append(result)
            }
        }
        return BenchReport(
            machine: machine, command: (["mplab"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
            trialSeconds: command.trialSeconds, latencyRate: command.latencyRate, cases: cases,
            sessions: sessionResults, endLoadAverage: BenchMachine.currentLoadAverage())
    }

    private func measure(_ kind: BenchCase.Kind, size: Int, keyFile: String?) throws -> BenchCase {
        let label: String
        let topology: BenchTopology
        switch kind {
        case .reference:
            label = "reference-\(size)"
            topology = try BenchTopology.startReference(workspace: workspace, label: label)
        case .tunnel(let paths, let sealing):
            label = "tunnel-\(paths)-\(size)-\(sealing.rawValue)"
            topology = try BenchTopology.startTunnel(
                paths: paths, keyFile: sealing == .sealed ? keyFile : nil, cipher: command.cipher,
                workspace: workspace, label: label)
        }
        defer { topology.stop() }
        try topology.waitUntilReady(lab: lab, timeout: Self.startTimeout)
        let runner = BenchTrialRunner(lab: lab, seconds: command.trialSeconds)
        let name = kind.name(size: size)
        let latency = try measureLatency(topology, kind: kind, size: size, label: label, runner: runner)
        let settings = BenchSearchSettings(
            startRate: command.startRate, maximumRate: command.maximumRate, maximumTrials: command.maximumTrials)
        let search = try BenchSearch(settings: settings, runner: runner) { trial in
            warn("  \(name): \(trial.summary)")
        }.run(topology, size: size)
        var resident: [String: Int] = [:]
        for process in topology.processes { resident[process.name] = ProcessStats.residentKilobytes(pid: process.pid) }
        warn("mplab bench: \(name): highest rate \(search.bestRate)/s")
        return BenchCase(kind: kind, size: size, search: search, latency: latency, residentKilobytes: resident)
    }

    /// Round trips at the latency rate, after a warm-up of the same load. A tunnel runs beside
    /// a relay chain of its own started for this (see `BenchTrialRunner.runSideBySide`).
    /// Up to --latency-rounds rounds, ending at the first whose host steal was under
    /// ``quietSteal``; the round with the least steal counts. Rounds are chosen by steal, never
    /// by their round trips, so the choice favours neither side.
    private func measureLatency(
        _ topology: BenchTopology, kind: BenchCase.Kind, size: Int, label: String, runner: BenchTrialRunner
    ) throws -> BenchLatency {
        var topologies = [topology]
        if kind != .reference {
            let chain = try BenchTopology.startReference(workspace: workspace, label: label + "-beside")
            topologies.append(chain)
            try chain.waitUntilReady(lab: lab, timeout: Self.startTimeout)
        }
        defer { topologies.dropFirst().forEach { $0.stop() } }
        let rate = command.latencyRate
        _ = try runner.runSideBySide(topologies, rate: rate, size: size, duration: Self.warmUpSeconds)
        let names = [kind.name(size: size), "relay chain beside it"]
        var quietest: BenchLatency?
        for round in 1...command.latencyRounds {
            let before = StealSample.now()
            let trials = try runner.runSideBySide(topologies, rate: rate, size: size, duration: command.latencySeconds)
            let steal = before.flatMap { before in StealSample.now().map { $0.share(since: before) } }
            for (trial, name) in zip(trials, names) {
                let trip = trial.roundTrip
                warn(
                    "mplab bench: \(name): round trip µs p50 \(trip.value(at: 0.5)) p99 \(trip.value(at: 0.99)) "
                        + "p99.9 \(trip.value(at: 0.999)) at \(rate)/s")
            }
            warn("  round \(round): host steal \(steal.map { percent($0) } ?? "unknown")")
            let latency = BenchLatency(trial: trials[0], beside: trials.count > 1 ? trials[1] : nil, steal: steal)
            if let best = quietest, (best.steal ?? 0) <= (steal ?? 0) { continue }
            quietest = latency
            if (steal ?? 0) < Self.quietSteal { break }
        }
        // The loop ran at least once: --latency-rounds is at least 1.
        return quietest!
    }

    /// A key made by `mpserver --genkey`, as a user makes one, readable by its owner only.
    static func makeKeyFile(in workspace: DemoWorkspace) throws -> String {
        let path = workspace.directory + "/bench.key"
        let child = try ChildProcess.spawn(
            name: "mpserver --genkey", executable: workspace.serverBinary, arguments: ["--genkey"], logPath: path)
        let group = ChildGroup()
        group.add(child)
        let deadline = MonotonicClock.now() + .seconds(10)
        while !child.hasExited && MonotonicClock.now() < deadline { usleep(20_000) }
        group.stopAll()
        chmod(path, 0o600)
        guard child.state == "exited with status 0" else { throw LabError("mpserver --genkey \(child.state)") }
        return path
    }
}
