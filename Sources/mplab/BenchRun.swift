// The phases of `mplab bench`, in order: for each size the reference and then each tunnel
// case side by side, each on fresh processes; then the sessions phase. Progress goes to
// standard error as it happens.
import Glibc
import MPCore
import MPRuntime

struct BenchRun {
    /// Seconds for a fresh topology to answer its first knock.
    static let startTimeout = 10.0

    let command: BenchCommand
    let workspace: DemoWorkspace
    let lab: LabLoop

    func run() throws -> BenchReport {
        let machine = BenchMachine.current(directory: workspace.directory)
        warn("mplab bench: \(machine.markdown)")
        let keyFile = command.sealing.contains(.sealed) ? try makeKeyFile() : nil
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
                paths: paths, keyFile: sealing == .sealed ? keyFile : nil, workspace: workspace, label: label)
        }
        defer { topology.stop() }
        try topology.waitUntilReady(lab: lab, timeout: Self.startTimeout)
        let runner = BenchTrialRunner(lab: lab, seconds: command.trialSeconds)
        let name = kind.name(size: size)
        let latency = try runner.run(topology, rate: command.latencyRate, size: size, duration: command.latencySeconds)
        let trip = latency.roundTrip
        warn(
            "mplab bench: \(name): round trip µs p50 \(trip.value(at: 0.5)) p99 \(trip.value(at: 0.99)) "
                + "p99.9 \(trip.value(at: 0.999)) at \(command.latencyRate)/s")
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

    /// A key made by `mpserver --genkey`, as a user makes one, readable by its owner only.
    private func makeKeyFile() throws -> String {
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
