// The rounds of `mplab cpu` for one size: the tunnels keyless and sealed stand side by side
// for the whole run and take turns, so a busy neighbour or a change of the host's clock
// falls on rounds of every tunnel alike; the floor is measured between the rounds.
import Glibc
import MPCore
import MPLabSupport
import MPRuntime

/// CPU microseconds of mpclient and mpserver per payload echoed (one seal and one open each).
struct SideCosts {
    let client: Double
    let server: Double
}

/// One round of one tunnel: all CPU time (user and system), and user time alone, where the
/// sealing runs, without the system calls whose cost moves with how datagrams batch.
struct RoundCosts {
    let all: SideCosts
    let user: SideCosts
}

/// One sealed tunnel beside the keyless one, at one size.
struct CPUResult {
    let size: Int
    let cipher: Cipher
    /// Medians over rounds.
    let keyless: SideCosts
    let sealed: SideCosts
    /// Median over rounds of sealed minus keyless of the same round, and the lowest and
    /// highest of those differences; and the median of the same in user time alone.
    let added: SideCosts
    let addedUser: SideCosts
    let addedLowest: SideCosts
    let addedHighest: SideCosts
    /// libcrypto alone: the medians over rounds of seal and of open.
    let floorSeal: Double
    let floorOpen: Double
    /// The host's steal over all rounds of this size.
    let steal: Double?
}

struct CPURun {
    let command: CPUCommand
    let workspace: DemoWorkspace
    let lab: LabLoop

    private struct Tunnel {
        let cipher: Cipher?
        let topology: BenchTopology
        var rounds: [RoundCosts] = []
    }

    /// Starts the tunnels of `size`, runs the rounds, stops the tunnels.
    func measure(size: Int, keyFile: String) throws -> [CPUResult] {
        var tunnels: [Tunnel] = []
        defer { tunnels.forEach { $0.topology.stop() } }
        for cipher in [nil] + command.ciphers.map(Optional.some) {
            let label = "cpu-\(size)-\(cipher?.rawValue ?? "keyless")"
            let topology = try BenchTopology.startTunnel(
                paths: 1, keyFile: cipher == nil ? nil : keyFile, cipher: cipher, workspace: workspace, label: label)
            tunnels.append(Tunnel(cipher: cipher, topology: topology))
            try topology.waitUntilReady(lab: lab, timeout: BenchRun.startTimeout)
        }
        let runner = BenchTrialRunner(lab: lab, seconds: command.roundSeconds)
        for tunnel in tunnels {
            _ = try runner.run(tunnel.topology, rate: command.rate, size: size, duration: BenchRun.warmUpSeconds)
        }
        var floors: [[CipherFloor]] = command.ciphers.map { _ in [] }
        let stealBefore = StealSample.now()
        for round in 0..<command.rounds {
            for offset in tunnels.indices {
                let index = (round + offset) % tunnels.count
                tunnels[index].rounds.append(try measureRound(tunnels[index].topology, size: size, runner: runner))
            }
            for (index, cipher) in command.ciphers.enumerated() {
                floors[index].append(try CipherFloor.measure(cipher, size: size, frames: command.floorFrames))
            }
            warn("mplab cpu: \(size) B, round \(round + 1): " + describe(tunnels, floors: floors))
        }
        let steal = stealBefore.flatMap { before in StealSample.now().map { $0.share(since: before) } }
        return command.ciphers.enumerated().map { index, cipher in
            result(keyless: tunnels[0], sealed: tunnels[index + 1], floors: floors[index], size: size, steal: steal)
        }
    }

    /// One round of `topology`: each daemon's CPU per payload that came back.
    private func measureRound(_ topology: BenchTopology, size: Int, runner: BenchTrialRunner) throws -> RoundCosts {
        guard let client = topology.process("mpclient"), let server = topology.process("mpserver") else {
            throw LabError("no daemon in the topology")
        }
        var attempt = 1
        while true {
            let before = [client.pid, server.pid].map { ProcessClock.sample(pid: $0) }
            let trial = try runner.run(topology, rate: command.rate, size: size)
            let after = [client.pid, server.pid].map { ProcessClock.sample(pid: $0) }
            if trial.passed, trial.load.received > 0 { return costs(before: before, after: after, trial: trial) }
            // A round that lost is not measured: a neighbour's burst, or a rate too high.
            warn("mplab cpu: \(size) B: a round lost \(trial.summary), attempt \(attempt) of \(Self.attempts)")
            guard attempt < Self.attempts else {
                throw LabError("rounds keep losing at \(command.rate)/s: lower --rate so that every tunnel carries it")
            }
            attempt += 1
        }
    }

    /// 3: a round that lost 1% or more is run again twice at most.
    static let attempts = 3

    private func costs(
        before: [(all: Double, user: Double)], after: [(all: Double, user: Double)], trial: BenchTrial
    ) -> RoundCosts {
        let microseconds = 1e6 / Double(trial.load.received)
        return RoundCosts(
            all: SideCosts(
                client: (after[0].all - before[0].all) * microseconds,
                server: (after[1].all - before[1].all) * microseconds),
            user: SideCosts(
                client: (after[0].user - before[0].user) * microseconds,
                server: (after[1].user - before[1].user) * microseconds))
    }

    private func result(keyless: Tunnel, sealed: Tunnel, floors: [CipherFloor], size: Int, steal: Double?)
        -> CPUResult
    {
        let clientAdded = zip(sealed.rounds, keyless.rounds).map { $0.all.client - $1.all.client }
        let serverAdded = zip(sealed.rounds, keyless.rounds).map { $0.all.server - $1.all.server }
        let clientUser = zip(sealed.rounds, keyless.rounds).map { $0.user.client - $1.user.client }
        let serverUser = zip(sealed.rounds, keyless.rounds).map { $0.user.server - $1.user.server }
        return CPUResult(
            size: size, cipher: sealed.cipher ?? .chaCha20Poly1305,
            keyless: SideCosts(
                client: median(keyless.rounds.map(\.all.client)), server: median(keyless.rounds.map(\.all.server))),
            sealed: SideCosts(
                client: median(sealed.rounds.map(\.all.client)), server: median(sealed.rounds.map(\.all.server))),
            added: SideCosts(client: median(clientAdded), server: median(serverAdded)),
            addedUser: SideCosts(client: median(clientUser), server: median(serverUser)),
            addedLowest: SideCosts(client: clientAdded.min() ?? 0, server: serverAdded.min() ?? 0),
            addedHighest: SideCosts(client: clientAdded.max() ?? 0, server: serverAdded.max() ?? 0),
            floorSeal: median(floors.map(\.sealMicroseconds)), floorOpen: median(floors.map(\.openMicroseconds)),
            steal: steal)
    }

    /// `keyless 1.52/0.71, chacha20-poly1305 3.30/2.48 µs; floor 1.64`.
    private func describe(_ tunnels: [Tunnel], floors: [[CipherFloor]]) -> String {
        let costs = tunnels.map { tunnel in
            let last = tunnel.rounds.last.map {
                "\(fixed($0.all.client, 2))/\(fixed($0.all.server, 2)) (user \(fixed($0.user.client, 2))/"
                    + "\(fixed($0.user.server, 2)))"
            }
            return "\(tunnel.cipher?.rawValue ?? "keyless") \(last ?? "-")"
        }
        let floor = floors.compactMap { $0.last.map { fixed($0.sum, 2) } }
        return costs.joined(separator: ", ") + " µs; floor " + floor.joined(separator: ", ")
    }
}

/// The CPU time of another process: all of it with nanosecond precision (its CPU-time
/// clock), where /proc's utime and stime count 10 ms ticks; and the user part, from /proc.
enum ProcessClock {
    static func sample(pid: pid_t) -> (all: Double, user: Double) {
        var clock = clockid_t()
        var time = timespec()
        guard clock_getcpuclockid(pid, &clock) == 0, clock_gettime(clock, &time) == 0 else { return (.nan, .nan) }
        return (Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9, ProcessStats.userSeconds(pid: pid) ?? .nan)
    }
}

/// The middle value (the mean of the two middle ones for an even count); 0 when empty.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// `value` with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "-" }
    let scale = (0..<digits).reduce(1.0) { product, _ in product * 10 }
    let scaled = Int((abs(value) * scale).rounded())
    let whole = String(scaled / Int(scale))
    let fraction = String(scaled % Int(scale))
    let padded = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
    return (value < 0 && scaled > 0 ? "-" : "") + whole + (digits > 0 ? "." + padded : "")
}
