/// What `mpclient --check` prints and exits with: one row per path of the config, then a
/// summary that tells apart every path working, some failing (a bridge down) and none
/// working (mpserver down, its port blocked, or keys that differ).
///
/// Exit codes: 0 when every path works, 2 when some fail (the tunnel runs, with less
/// redundancy), 1 when none works (the tunnel cannot come up).
public struct PathCheckReport: Hashable, Sendable {
    /// One path's line.
    public struct Row: Hashable, Sendable {
        /// The path id (its index among the config's paths).
        public var path: Int
        /// The path's `HOST PORT` as written.
        public var endpoint: Endpoint
        /// What the check counted; zero for a host that did not resolve.
        public var counts: PathCheckCounts
        /// The verdict.
        public var verdict: PathVerdict

        /// A probed path, judged from `counts`.
        public init(path: Int, endpoint: Endpoint, counts: PathCheckCounts) {
            self.path = path
            self.endpoint = endpoint
            self.counts = counts
            self.verdict = PathVerdict(counts)
        }

        /// A path whose host did not resolve, with the resolver's `reason`.
        public init(path: Int, endpoint: Endpoint, unresolved reason: String) {
            self.path = path
            self.endpoint = endpoint
            self.counts = PathCheckCounts()
            self.verdict = .unresolved(reason)
        }
    }

    /// How the paths fared together.
    public enum Outcome: Hashable, Sendable {
        /// Every path works.
        case allWork
        /// Some paths work, some do not.
        case someFail
        /// No path works (also: a report without rows).
        case noneWork
    }

    /// The rows, in the config's order.
    public var rows: [Row]
    /// Whether this side has a key (the summary's hint about silent key mismatches).
    public var keyed: Bool
    /// How long the check ran.
    public var duration: TimeSpan

    /// A report of `rows`, from a check of `duration` with a key or not.
    public init(rows: [Row], keyed: Bool, duration: TimeSpan) {
        self.rows = rows
        self.keyed = keyed
        self.duration = duration
    }

    /// How the paths fared together.
    public var outcome: Outcome {
        let working = rows.filter(\.verdict.works).count
        if working == 0 { return .noneWork }
        return working == rows.count ? .allWork : .someFail
    }

    /// 0 when every path works, 2 when some fail, 1 when none works.
    public var exitCode: Int32 {
        switch outcome {
        case .allWork: return 0
        case .someFail: return 2
        case .noneWork: return 1
        }
    }

    /// The last line: what works, and where to look when something does not.
    public var summary: String {
        switch outcome {
        case .allWork:
            return rows.count == 1 ? "the path works" : "all \(rows.count) paths work: mpserver answers on each"
        case .someFail: return partialSummary
        case .noneWork: return "no path works: " + noneWorkCause
        }
    }

    private var partialSummary: String {
        let failing = rows.filter { !$0.verdict.works }
        let names = failing.map { "\($0.path): \($0.endpoint)" }.joined(separator: ", ")
        let verb = failing.count == 1 ? "fails" : "fail"
        let silent = failing.allSatisfy { $0.verdict == .refused || $0.verdict == .noAnswer }
        let cause =
            silent
            ? (failing.count == 1 ? "bridge down or blocked" : "bridges down or blocked")
            : "see the hints"
        return "\(failing.count) of \(rows.count) paths \(verb) (\(names)): \(cause); "
            + "mpserver answers on the other paths"
    }

    private var noneWorkCause: String {
        // What came back says more than silence: another version first, then another key.
        for row in rows {
            if case .rejected(.version(let version)) = row.verdict {
                let theirs = version.map { "protocol version \($0)" } ?? "another protocol version"
                return "mpserver speaks \(theirs), this build \(FrameLayout.version): upgrade both sides together"
            }
        }
        for row in rows {
            if case .rejected(.key) = row.verdict { return row.verdict.hint(endpoint: row.endpoint) }
        }
        let verdicts = rows.map(\.verdict)
        if verdicts.allSatisfy({ !$0.isResolved }) {
            return "no path's host resolves: check the names and DNS"
        }
        let resolved = verdicts.filter(\.isResolved)
        if resolved.allSatisfy({ $0 == .refused }) {
            return "nothing listens at any path's address: mpserver down (or every bridge)"
        }
        guard verdicts.contains(.noAnswer) || verdicts.contains(.refused) else { return "see the hints" }
        let keys = keyed ? "mpserver has another key or none" : "mpserver has a key and this side none"
        return "mpserver down or its port blocked, or \(keys) "
            + "(mpserver stays silent to frames it cannot authenticate)"
    }
}

extension PathVerdict {
    /// False for ``unresolved(_:)``.
    public var isResolved: Bool {
        if case .unresolved = self { return false }
        return true
    }
}

extension PathCheckReport {
    /// The column titles of ``text``.
    public static let titles = ["PATH", "ENDPOINT", "VERDICT", "RTT", "LOSS", "SENT", "ANSWERS", "HINT"]

    /// What `mpclient --check` prints: a title line, the table (one row per path, columns
    /// aligned, the hint last) and the summary, each line ending with a newline.
    public var text: String {
        let key = keyed ? "with a key" : "keyless"
        let paths = rows.count == 1 ? "1 path" : "\(rows.count) paths"
        let title = "mpclient --check: \(paths), \(duration.nanoseconds / 1_000_000_000) s of probes, \(key)"
        let lines = Self.aligned([Self.titles] + rows.map(\.cells))
        return ([title] + lines + [summary] + (modeAdvice.map { [$0] } ?? [])).joined(separator: "\n") + "\n"
    }

    /// Which `mode` fits the paths that work, or `nil` when fewer than two work: duplicate
    /// survives any path failing at N times the traffic; balance adds their capacities and
    /// loses what a failing path carried; `fec K:M` survives one failing (and scattered
    /// loss) at (K + M) / K times, which takes three paths or more.
    public var modeAdvice: String? {
        let working = rows.filter(\.verdict.works).count
        guard working >= 2 else { return nil }
        let duplicate = "mode duplicate survives a path failing at \(working)x the traffic"
        let balance = "mode balance adds the paths' capacities (what a failing path carries is lost)"
        guard working >= 3 else {
            return "mode: \(duplicate); \(balance); fec needs 3 paths or more to survive one failing"
        }
        // fec K:2 with K = 2 (N - 1): at most 2 of a group's K + 2 shards on each of N paths.
        let dataShards = min(2 * (working - 1), Defaults.maximumFECDataShards)
        let traffic = Double(dataShards + 2) / Double(dataShards)
        let cost = (traffic * 100).rounded() / 100
        return "mode: \(duplicate); \(balance); mode fec \(dataShards):2 survives a path failing and "
            + "rebuilds scattered loss at \(cost)x, carrying up to \(working - 1)x duplicate's payloads"
    }

    /// The rows of `table` as lines: each column but the last padded to its widest cell, two
    /// spaces between columns, no trailing blanks.
    static func aligned(_ table: [[String]]) -> [String] {
        var widths: [Int] = []
        for cells in table {
            for (column, cell) in cells.enumerated() {
                if column == widths.count { widths.append(0) }
                widths[column] = max(widths[column], cell.count)
            }
        }
        return table.map { cells in
            let padded = cells.enumerated().map { column, cell in
                column == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }
            return String(padded.joined(separator: "  ").reversed().drop { $0 == " " }.reversed())
        }
    }
}

extension PathCheckReport.Row {
    /// The row's cells, in the order of ``PathCheckReport/titles``.
    var cells: [String] {
        let probed = verdict.isResolved
        var roundTrip = "-"
        if case .ok(let span?, _) = verdict { roundTrip = millisecondsText(span) }
        return [
            "\(path)", "\(endpoint)", verdict.label, roundTrip,
            counts.loss.map(percent) ?? "-", probed ? "\(counts.probesSent)" : "-",
            probed ? "\(counts.answers)" : "-", verdict.hint(endpoint: endpoint),
        ]
    }
}

/// A span as milliseconds with one decimal (`0.4 ms`); `<0.1 ms` below 50 µs.
func millisecondsText(_ span: TimeSpan) -> String {
    // 100,000 ns per tenth of a millisecond, rounded to the nearest.
    let tenths = (span.nanoseconds + 50_000) / 100_000
    return tenths == 0 ? "<0.1 ms" : "\(tenths / 10).\(tenths % 10) ms"
}
