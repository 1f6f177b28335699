import Testing
@testable import MPCore

@Suite("mpclient --check: verdicts, summary, table")
struct PathVerdictTests {
    static func counts(
        sent: Int = 10, answers: Int = 0, roundTrip: TimeSpan? = nil, drops: [DropReason] = [],
        refusals: Int = 0, otherErrors: Int = 0
    ) -> PathCheckCounts {
        var counts = PathCheckCounts()
        counts.probesSent = sent
        counts.answers = answers
        counts.roundTrip = roundTrip
        for reason in drops { counts.drops.record(reason) }
        counts.refusals = refusals
        counts.otherErrors = otherErrors
        counts.lastError = otherErrors > 0 ? "Network is unreachable" : nil
        return counts
    }

    static let endpoint = Endpoint(host: "127.0.0.1", port: 4001)

    /// Case number, counts, verdict: the rules in the order ``PathVerdict`` documents them.
    static let rules: [(Int, PathCheckCounts, PathVerdict)] = [
        (1, counts(answers: 10, roundTrip: .milliseconds(3)), .ok(roundTrip: .milliseconds(3), loss: 0)),
        (2, counts(answers: 1), .ok(roundTrip: nil, loss: 0.9)),
        (3, counts(answers: 2, drops: [.authenticationFailed], refusals: 3), .ok(roundTrip: nil, loss: 0.8)),
        (4, counts(answers: 12), .ok(roundTrip: nil, loss: 0)),
        (5, counts(drops: [.unknownVersion, .authenticationFailed]), .rejected(.version(nil))),
        (6, counts(drops: [.authenticationFailed], refusals: 2), .rejected(.key(.authenticationFailed))),
        (7, counts(drops: [.unexpectedAuthentication]), .rejected(.key(.unexpectedAuthentication))),
        (8, counts(drops: [.missingAuthentication]), .rejected(.key(.missingAuthentication))),
        (9, counts(drops: [.wrongDirection, .truncated]), .rejected(.echo)),
        (10, counts(drops: [.unknownSession]), .rejected(.otherSession)),
        (11, counts(drops: [.malformed]), .rejected(.notMPTunnel)),
        (12, counts(drops: [.oversized]), .rejected(.notMPTunnel)),
        (13, counts(refusals: 9, otherErrors: 1), .refused),
        (14, counts(otherErrors: 2), .failing("Network is unreachable")),
        (15, counts(), .noAnswer),
        (16, counts(sent: 0), .noAnswer),
        (17, PathCheckCounts(), .noAnswer),
    ]

    @Test("verdict rules, first match wins", arguments: rules)
    func verdict(number: Int, counts: PathCheckCounts, expected: PathVerdict) {
        #expect(PathVerdict(counts) == expected, "case \(number)")
        #expect(PathVerdict(counts).works == (number <= 4), "case \(number)")
    }

    @Test("labels and hints name the cause and the endpoint")
    func hints() {
        let endpoint = Self.endpoint
        #expect(PathVerdict.ok(roundTrip: nil, loss: 0.05).hint(endpoint: endpoint) == "")
        #expect(PathVerdict.ok(roundTrip: nil, loss: 0.3).hint(endpoint: endpoint).contains("30% of probes are lost"))
        #expect(PathVerdict.refused.hint(endpoint: endpoint).contains("nothing listens at 127.0.0.1:4001"))
        #expect(PathVerdict.noAnswer.hint(endpoint: endpoint) == "no reply: bridge, firewall or mpserver down")
        #expect(PathVerdict.rejected(.version(2)).hint(endpoint: endpoint).contains("protocol version 2"))
        #expect(PathVerdict.rejected(.key(.authenticationFailed)).hint(endpoint: endpoint).contains("key mismatch"))
        #expect(PathVerdict.rejected(.echo).hint(endpoint: endpoint).contains("echo"))
        #expect(
            PathVerdict.unresolved("Name or service not known").hint(endpoint: Endpoint(host: "nowhere", port: 1))
                == "cannot resolve `nowhere': Name or service not known")
        let labels = [
            PathVerdict.ok(roundTrip: nil, loss: 0), .refused, .noAnswer, .rejected(.echo), .failing("x"),
            .unresolved("x"),
        ].map(\.label)
        #expect(labels == ["ok", "refused", "no answer", "rejected", "error", "unresolved"])
    }

    static func report(_ counts: [PathCheckCounts], keyed: Bool = false) -> PathCheckReport {
        let rows = counts.enumerated().map { index, counts in
            PathCheckReport.Row(
                path: index, endpoint: Endpoint(host: "127.0.0.1", port: UInt16(4001 + index)),
                counts: counts)
        }
        return PathCheckReport(rows: rows, keyed: keyed, duration: .seconds(3))
    }

    static let fine = counts(answers: 10, roundTrip: .microseconds(300))

    @Test("every path fine: exit 0")
    func allWork() {
        let report = Self.report([Self.fine, Self.fine, Self.fine])
        #expect(report.outcome == .allWork && report.exitCode == 0)
        #expect(report.summary == "all 3 paths work: mpserver answers on each")
        #expect(Self.report([Self.fine]).summary == "the path works")
    }

    @Test("one bridge down: exit 2, the summary names the path")
    func oneBridgeDown() {
        let report = Self.report([Self.fine, Self.counts(refusals: 9), Self.fine])
        #expect(report.outcome == .someFail && report.exitCode == 2)
        #expect(
            report.summary
                == "1 of 3 paths fails (1: 127.0.0.1:4002): bridge down or blocked; mpserver answers on the other paths"
        )
        let two = Self.report([Self.fine, Self.counts(), Self.counts(drops: [.malformed])])
        #expect(two.summary.hasPrefix("2 of 3 paths fail (1: 127.0.0.1:4002, 2: 127.0.0.1:4003): see the hints"))
    }

    @Test("mpserver down behind bridges: exit 1, the summary says mpserver down and the key hint fits the side")
    func serverDown() {
        let keyless = Self.report([Self.counts(), Self.counts(), Self.counts(refusals: 1)])
        #expect(keyless.outcome == .noneWork && keyless.exitCode == 1)
        #expect(keyless.summary.hasPrefix("no path works: mpserver down or its port blocked"))
        #expect(keyless.summary.contains("mpserver has a key and this side none"))
        let keyed = Self.report([Self.counts(), Self.counts()], keyed: true)
        #expect(keyed.summary.contains("mpserver has another key or none"))
        let direct = Self.report([Self.counts(refusals: 3)])
        #expect(
            direct.summary == "no path works: nothing listens at any path's address: mpserver down (or every bridge)")
    }

    @Test("no path works for a reason the answers show: version, then key; names that do not resolve")
    func noneWorkCauses() {
        var version = Self.counts(drops: [.unknownVersion])
        version.foreignVersion = 3
        let versions = Self.report([Self.counts(drops: [.authenticationFailed]), version])
        #expect(versions.summary.contains("mpserver speaks protocol version 3, this build \(FrameLayout.version)"))
        let keys = Self.report([Self.counts(), Self.counts(drops: [.authenticationFailed])])
        #expect(keys.summary.contains("key mismatch"))
        let names = PathCheckReport(
            rows: [PathCheckReport.Row(path: 0, endpoint: Endpoint(host: "x.invalid", port: 1), unresolved: "no")],
            keyed: false, duration: .seconds(3))
        #expect(names.summary == "no path works: no path's host resolves: check the names and DNS")
        let refusedAndUnresolved = PathCheckReport(
            rows: names.rows + [
                PathCheckReport.Row(path: 1, endpoint: Self.endpoint, counts: Self.counts(refusals: 1))
            ],
            keyed: false, duration: .seconds(3))
        #expect(refusedAndUnresolved.summary.hasPrefix("no path works: nothing listens at any path's address"))
        #expect(PathCheckReport(rows: [], keyed: false, duration: .seconds(3)).exitCode == 1)
    }

    @Test("the table: a title, aligned columns, the hint last, no trailing blanks, the summary")
    func table() {
        let rows = [
            PathCheckReport.Row(path: 0, endpoint: Self.endpoint, counts: Self.fine),
            PathCheckReport.Row(path: 1, endpoint: Endpoint(host: "::1", port: 4002), counts: Self.counts(refusals: 9)),
            PathCheckReport.Row(path: 2, endpoint: Endpoint(host: "nowhere", port: 9), unresolved: "no address"),
        ]
        let text = PathCheckReport(rows: rows, keyed: true, duration: .seconds(3)).text
        let expected = """
            mpclient --check: 3 paths, 3 s of probes, with a key
            PATH  ENDPOINT        VERDICT     RTT     LOSS  SENT  ANSWERS  HINT
            0     127.0.0.1:4001  ok          0.3 ms  0%    10    10
            1     [::1]:4002      refused     -       100%  10    0        \
            nothing listens at [::1]:4002 (port unreachable): bridge or mpserver down?
            2     nowhere:9       unresolved  -       -     -     -        cannot resolve `nowhere': no address
            2 of 3 paths fail (1: [::1]:4002, 2: nowhere:9): see the hints; mpserver answers on the other paths

            """
        let three = PathCheckReport(
            rows: (0..<3).map { PathCheckReport.Row(path: $0, endpoint: Self.endpoint, counts: Self.fine) },
            keyed: true, duration: .seconds(3))
        #expect(
            three.modeAdvice
                == "mode: mode duplicate survives a path failing at 3x the traffic; mode balance adds the paths' "
                + "capacities (what a failing path carries is lost); mode fec 4:2 survives a path failing and "
                + "rebuilds scattered loss at 1.5x, carrying up to 2x duplicate's payloads")
        #expect(text == expected, "\(text)")
        #expect(millisecondsText(.microseconds(20)) == "<0.1 ms")
        #expect(millisecondsText(.milliseconds(1_234)) == "1234.0 ms")
    }

    @Test("--check-seconds: 1-60; the last third (at most 1 s) only listens")
    func timing() {
        #expect(PathCheckTiming(seconds: 0) == nil && PathCheckTiming(seconds: 61) == nil)
        #expect(PathCheckTiming.standard == PathCheckTiming(seconds: 3))
        #expect(PathCheckTiming.standard.probing == .seconds(2) && PathCheckTiming.standard.drain == .seconds(1))
        let short = PathCheckTiming(seconds: 1)
        #expect(short?.drain == TimeSpan(nanoseconds: 333_333_333))
        #expect(short?.probing == TimeSpan(nanoseconds: 666_666_667))
        #expect(PathCheckTiming(seconds: 60)?.drain == .seconds(1))
    }
}

extension TimeSpan {
    fileprivate static func microseconds(_ value: UInt64) -> TimeSpan { TimeSpan(nanoseconds: value * 1_000) }
}
