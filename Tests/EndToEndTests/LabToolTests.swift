// The lab kit itself (`mplab`): its help, its errors, and that its relay, echo target and
// load generator measure what they should, so the tunnel's tests can trust them.
import Foundation
import MPTestSupport
import Testing
import MPLabSupport

/// One direction of `mplab relay --stats-file`.
private struct RelayDirectionCounters: Decodable {
    var received: Int
    var forwarded: Int
    var dropped: Int
    var overflowed: Int
}

private struct RelayStatistics: Decodable {
    var up: RelayDirectionCounters
    var down: RelayDirectionCounters
}

@Suite("mplab", .serialized)
struct LabToolTests {
    let lab = TunnelLab()

    /// Runs mplab to the end and returns its exit status and output.
    private func run(_ arguments: [String], timeout: Duration = .seconds(30)) throws -> (status: Int32?, output: String)
    {
        let process = try lab.start("mplab", arguments)
        let status = process.waitForExit(timeout: timeout)
        return (status, process.log)
    }

    /// Starts a long-running mplab subcommand and waits until it says it is listening.
    @discardableResult
    private func startListening(_ arguments: [String]) throws -> ChildProcess {
        let process = try lab.start("mplab", arguments)
        #expect(waitUntil(timeout: .seconds(5)) { process.log.contains("listening on") }, "\(process.log)")
        return process
    }

    private func load(_ arguments: [String]) throws -> LoadResult {
        let (status, output) = try run(["load", "--json"] + arguments)
        #expect(status == 0, "\(output)")
        let line = try #require(output.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(output)")
        return try JSONDecoder().decode(LoadResult.self, from: Data(line.utf8))
    }

    @Test(
        "every subcommand has --help",
        arguments: [
            ("relay", "--drop"), ("echo", "--listen"), ("load", "--flows"), ("demo", "--keep-logs"),
            ("bench", "--latency-rate"), ("cpu", "--floor-frames"),
        ])
    func help(subcommand: String, flag: String) throws {
        let (status, output) = try run([subcommand, "--help"])
        #expect(status == 0)
        #expect(output.contains(flag), "\(output)")
    }

    @Test(
        "bad input fails with a usage error that quotes it",
        arguments: [
            (["relay", "--listen", "nowhere", "--to", "127.0.0.1:2000"], "`nowhere'"),
            (["relay", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:70000"], "`70000'"),
            (["relay", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:2000", "--drop", "1.5"], "`1.5'"),
            (["relay", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:2000", "--down-drop", "2"], "`2'"),
            (["relay", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:2000", "--up-delay-ms", "20000"], "`20000'"),
            (["relay", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:2000", "--rate-up", "7furlongs"], "`7furlongs'"),
            (["relay", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:2000", "--rate", "2000000"], "`2000000'"),
            (["load", "--to", "127.0.0.1:3000", "--size", "70000"], "`70000'"),
            (["demo", "--drop", "0.1,x"], "`x'"),
            (["cpu", "--ciphers", "aes-256-gcm,rot13"], "`rot13'"),
        ])
    func badInput(arguments: [String], quoted: String) throws {
        let (status, output) = try run(arguments)
        #expect(status == 64)
        #expect(output.contains(quoted), "\(output)")
    }

    @Test(
        "echo and load: every datagram back intact, at 0, 7, 16 and the largest payload size",
        arguments: [0, 7, 16, 65_459])
    func echoSizes(size: Int) throws {
        let echoPort = freeUDPPort()
        try startListening(["echo", "--listen", "127.0.0.1:\(echoPort)"])
        let report = try load([
            "--to", "127.0.0.1:\(echoPort)", "--rate", "200", "--duration", "1", "--size", "\(size)",
        ])
        #expect(report.sent == 200)
        #expect(report.received == report.sent)
        #expect(report.corrupted == 0)
        #expect(report.rttSamples == (size >= 16 ? 200 : 0))
    }

    @Test("four flows each get only their own echoes back")
    func flows() throws {
        let echoPort = freeUDPPort()
        try startListening(["echo", "--listen", "127.0.0.1:\(echoPort)"])
        let report = try load(["--to", "127.0.0.1:\(echoPort)", "--rate", "2000", "--duration", "1", "--flows", "4"])
        #expect(report.received == report.sent)
        #expect(report.misdelivered == 0)
    }

    @Test("a relay dropping 20% each way loses about 36% of round trips, and its stats file says so", .tags(.timing))
    func lossyRelay() throws {
        // 4,000 datagrams: 1 - 0.8 x 0.8 = 36%, and a few points either way is chance.
        func passes(_ trial: (report: LoadResult, counters: RelayStatistics)) -> Bool {
            let loss = trial.report.lossPercent
            return loss > 31 && loss < 41 && trial.counters.down.received == trial.counters.up.forwarded
        }
        let (report, counters) = try retryingAfterAHostPause(
            "relay --drop 0.2", lossyRelayTrial, passes: passes)
        #expect(report.lossPercent > 31 && report.lossPercent < 41, "\(report)")
        #expect(report.duplicates == 0 && report.corrupted == 0)
        #expect(counters.up.received == report.sent)
        #expect(counters.up.received == counters.up.forwarded + counters.up.dropped)
        #expect(counters.down.received == counters.up.forwarded)
    }

    /// 4,000 datagrams in 2 s through a new relay dropping 20% each way: the load's report
    /// and the relay's counters once they add up (or after 3 s).
    private func lossyRelayTrial() throws -> (report: LoadResult, counters: RelayStatistics) {
        let echoPort = freeUDPPort()
        let relayPort = freeUDPPort()
        let statsFile = "\(lab.directory)/relay-\(relayPort).json"
        try startListening(["echo", "--listen", "127.0.0.1:\(echoPort)"])
        try startListening([
            "relay", "--listen", "127.0.0.1:\(relayPort)", "--to", "127.0.0.1:\(echoPort)", "--drop", "0.2",
            "--stats-file", statsFile,
        ])
        let report = try load(["--to", "127.0.0.1:\(relayPort)", "--rate", "2000", "--duration", "2"])
        var statistics: RelayStatistics?
        // The relay rewrites its stats file every second.
        _ = waitUntil(timeout: .seconds(3)) {
            statistics = (try? Data(contentsOf: URL(fileURLWithPath: statsFile)))
                .flatMap { try? JSONDecoder().decode(RelayStatistics.self, from: $0) }
            return statistics.map { $0.up.received == report.sent && $0.down.received == $0.up.forwarded } ?? false
        }
        return (report, try #require(statistics))
    }

    @Test(
        "a relay with --up-drop 0.2 --down-delay-ms 40 drops only on the way up and delays only on the way down",
        .tags(.timing))
    func asymmetricRelay() throws {
        // 2,000 datagrams: 20% dropped up (the seeded generator; a few points either way is
        // chance), none down; every echo waits 40 ms on the way down and none on the way up.
        func passes(_ trial: (report: LoadResult, counters: RelayStatistics, relayLog: String)) -> Bool {
            let (report, counters) = (trial.report, trial.counters)
            let upLoss = Double(counters.up.dropped) / Double(max(counters.up.received, 1))
            return upLoss > 0.15 && upLoss < 0.25 && counters.down.dropped == 0
                && counters.down.received == counters.up.forwarded && report.received == counters.down.forwarded
                && (report.rttMicroseconds?.p50 ?? 0) >= 40_000
        }
        let trial = try retryingAfterAHostPause(
            "relay --up-drop 0.2 --down-delay-ms 40", asymmetricTrial, passes: passes,
            ranLate: { $0.relayLog.contains("relay late") })
        let (report, counters) = (trial.report, trial.counters)
        #expect(trial.relayLog.contains("up drop 0.2; down drop 0.0, delay 40 ms"), "\(trial.relayLog)")
        #expect(counters.up.received == report.sent, "\(counters)")
        #expect(counters.up.received == counters.up.forwarded + counters.up.dropped, "\(counters)")
        let upLoss = Double(counters.up.dropped) / Double(max(counters.up.received, 1))
        #expect(upLoss > 0.15 && upLoss < 0.25, "\(counters)")
        #expect(counters.down.dropped == 0, "\(counters)")
        #expect(counters.down.received == counters.up.forwarded, "\(counters)")
        #expect(report.received == counters.down.forwarded, "\(report)")
        let roundTrip = try #require(report.rttMicroseconds)
        #expect(roundTrip.p50 >= 40_000, "\(report)")
    }

    /// 2,000 datagrams in 2 s through a new relay that drops 20% up and delays 40 ms down.
    private func asymmetricTrial() throws -> (report: LoadResult, counters: RelayStatistics, relayLog: String) {
        let echoPort = freeUDPPort()
        let relayPort = freeUDPPort()
        let statsFile = "\(lab.directory)/relay-\(relayPort).json"
        try startListening(["echo", "--listen", "127.0.0.1:\(echoPort)"])
        let relay = try startListening([
            "relay", "--listen", "127.0.0.1:\(relayPort)", "--to", "127.0.0.1:\(echoPort)", "--up-drop", "0.2",
            "--down-delay-ms", "40", "--stats-file", statsFile,
        ])
        let report = try load(["--to", "127.0.0.1:\(relayPort)", "--rate", "1000", "--duration", "2"])
        var statistics: RelayStatistics?
        _ = waitUntil(timeout: .seconds(3)) {
            statistics = (try? Data(contentsOf: URL(fileURLWithPath: statsFile)))
                .flatMap { try? JSONDecoder().decode(RelayStatistics.self, from: $0) }
            return statistics.map { $0.up.received == report.sent && $0.down.forwarded == report.received } ?? false
        }
        return (report, try #require(statistics), relay.log)
    }

    @Test(
        "a relay with --rate 200 forwards about 200 datagrams a second and drops the rest at its queue's tail",
        .tags(.timing))
    func rateLimitedRelay() throws {
        // 1 s at 200/s, plus the idle link's first burst and the queue's content at the end
        // (10 datagrams, 50 ms, each): 220. Less if the relay was descheduled over 50 ms.
        let expected = 190...225
        // When the relay says it ran late (the host paused it), its link was not the one asked for.
        func passes(_ trial: (report: LoadResult, counters: RelayStatistics, relayLog: String)) -> Bool {
            let counters = trial.counters
            return expected.contains(trial.report.received) && counters.down.overflowed == 0
                && counters.up.overflowed >= 750
        }
        let trial = try retryingAfterAHostPause(
            "relay --rate 200", { try rateLimitedTrial() }, passes: passes,
            ranLate: { $0.relayLog.contains("relay late") })
        let (report, counters) = (trial.report, trial.counters)
        print(
            "relay --rate 200: \(report.received) of \(report.sent) back; up forwarded \(counters.up.forwarded), "
                + "overflowed \(counters.up.overflowed); down overflowed \(counters.down.overflowed)")
        #expect(expected.contains(report.received), "\(report)\n\(trial.relayLog)")
        #expect(counters.up.received == counters.up.forwarded + counters.up.overflowed, "\(counters)")
        #expect(counters.up.overflowed >= 750, "\(counters)")
        #expect(counters.down.overflowed == 0, "\(counters)")
    }

    @Test(
        "a relay with --rate 1mbit is a line: 1,200-byte datagrams at its bits per second, small ones at theirs",
        arguments: [(1_200, 1_000), (100, 500)])
    func lineRateRelay(size: Int, offered: Int) throws {
        // 1 Mbit/s carries 1e6 / 8 / (1,200 + 28) = 102 datagrams of 1,200 bytes a second, and
        // 976 of 100 bytes: plus the idle line's first burst and the queue's content at the
        // end (50 ms each), 1 s of 1,200-byte datagrams gives 112; all 500 small ones pass.
        let expected = size == 1_200 ? 95...120 : 500...500
        func passes(_ trial: (report: LoadResult, counters: RelayStatistics, relayLog: String)) -> Bool {
            expected.contains(trial.report.received) && trial.counters.down.overflowed == 0
        }
        let trial = try retryingAfterAHostPause(
            "relay --rate 1mbit, \(size) B", { try rateLimitedTrial(rate: "1mbit", offered: offered, size: size) },
            passes: passes, ranLate: { $0.relayLog.contains("relay late") })
        let (report, counters) = (trial.report, trial.counters)
        print(
            "relay --rate 1mbit, \(size) B: \(report.received) of \(report.sent) back; up overflowed "
                + "\(counters.up.overflowed), down overflowed \(counters.down.overflowed)")
        #expect(expected.contains(report.received), "\(report)\n\(trial.relayLog)")
        #expect(counters.up.received == counters.up.forwarded + counters.up.overflowed, "\(counters)")
        #expect(counters.down.overflowed == 0, "\(counters)")
        #expect(trial.relayLog.contains("rate 1mbit"), "\(trial.relayLog)")
    }

    /// `offered` datagrams of `size` bytes in 1 s through a new relay limited to `rate` each
    /// way: the load's report, the relay's counters and its log.
    private func rateLimitedTrial(
        rate: String = "200", offered: Int = 1_000, size: Int = 1_200
    ) throws -> (report: LoadResult, counters: RelayStatistics, relayLog: String) {
        let echoPort = freeUDPPort()
        let relayPort = freeUDPPort()
        let statsFile = "\(lab.directory)/relay-\(relayPort).json"
        try startListening(["echo", "--listen", "127.0.0.1:\(echoPort)"])
        let relay = try startListening([
            "relay", "--listen", "127.0.0.1:\(relayPort)", "--to", "127.0.0.1:\(echoPort)", "--rate", rate,
            "--stats-file", statsFile,
        ])
        let report = try load([
            "--to", "127.0.0.1:\(relayPort)", "--rate", "\(offered)", "--size", "\(size)", "--duration", "1",
        ])
        var statistics: RelayStatistics?
        _ = waitUntil(timeout: .seconds(3)) {
            statistics = (try? Data(contentsOf: URL(fileURLWithPath: statsFile)))
                .flatMap { try? JSONDecoder().decode(RelayStatistics.self, from: $0) }
            return statistics?.down.forwarded == report.received
        }
        return (report, try #require(statistics), relay.log)
    }

    @Test("demo: mpclient and mpserver through three lossy relays, children stopped at the end")
    func demo() throws {
        let (status, output) = try run(["demo", "--duration", "2"], timeout: .seconds(60))
        #expect(status == 0, "\(output)")
        #expect(output.contains("expected one-way loss 0.1 x 0.2 x 0.3 = 0.60%"), "\(output)")
    }

    @Test("bench: a short run measures every case, each tunnel beside a relay chain of its own", .tags(.timing))
    func bench() throws {
        // At 1,000/s on loopback every case passes a trial, unless the host paused the machine
        // through both half-second trials of a case: then the run is repeated.
        func highestRates(_ run: (status: Int32?, output: String)) -> [Int] {
            Self.benchCases(in: run.output).map { $0["highestRate"] as? Int ?? 0 }
        }
        let (status, output) = try retryingAfterAHostPause(
            "bench", benchRun, passes: { run in run.status == 0 && highestRates(run).allSatisfy { $0 >= 1_000 } })
        #expect(status == 0, "\(output)")
        let cases = Self.benchCases(in: output)
        #expect(
            cases.map { $0["name"] as? String } == [
                "reference, 64 B", "1 path, 64 B, keyless", "1 path, 64 B, sealed",
            ],
            "\(output)")
        for item in cases {
            // Every case carried its round trips and passed a trial at 1,000/s; its highest rate
            // is that of its best passing trial. A tunnel case has its chain's round trips
            // beside its own, and their difference.
            #expect((item["highestRate"] as? Int ?? 0) >= 1_000, "\(item)")
            let trials = item["trials"] as? [[String: Any]] ?? []
            let passedRates = trials.filter { $0["passed"] as? Int == 1 }.compactMap { $0["rate"] as? Int }
            #expect(item["highestRate"] as? Int == passedRates.max() ?? 0, "\(item)")
            let latency = item["latency"] as? [String: Any]
            #expect((latency?["received"] as? Int ?? 0) > 0, "\(item)")
            let isTunnel = item["kind"] as? String == "tunnel"
            let beside = item["latencyBeside"] as? [String: Any]
            let besideTrip = beside?["rttMicroseconds"] as? [String: Any]
            #expect(isTunnel == ((besideTrip?["p99"] as? Int ?? 0) > 0), "\(item)")
            #expect(isTunnel == (item["addedP99Microseconds"] is Int), "\(item)")
        }
    }

    /// A short `mplab bench --json` of the one-path cases with 64-byte datagrams.
    private func benchRun() throws -> (status: Int32?, output: String) {
        try run(
            [
                "bench", "--json", "--paths", "1", "--sizes", "64", "--sessions", "0", "--max-trials", "2",
                "--trial-seconds", "0.5", "--latency-seconds", "0.5", "--start-rate", "1000", "--max-rate", "2000",
            ], timeout: .seconds(120))
    }

    /// The cases of the JSON report in `output` (its last line that starts with `{`); none
    /// when there is no report.
    private static func benchCases(in output: String) -> [[String: Any]] {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let report = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { return [] }
        return report["cases"] as? [[String: Any]] ?? []
    }
}
