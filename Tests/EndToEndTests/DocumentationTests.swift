// The protocol document is the contract: these tests read Sources/MPCore/MPCore.docc/Protocol.md
// and check that its test vectors decode and re-encode byte for byte, that its invalid
// examples are rejected, and that every limit it quotes is the value in the code.
import Foundation
import MPCore
import Testing

@Suite("Protocol document")
struct DocumentationTests {
    /// The repository root, three levels above this file (Tests/EndToEndTests/…).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func protocolDocument() throws -> String {
        let url = repositoryRoot.appendingPathComponent("Sources/MPCore/MPCore.docc/Protocol.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The lines of the `## Test vectors` section, up to the next `## ` heading.
    static func testVectorSection() throws -> [Substring] {
        let lines = try protocolDocument().split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("## Test vectors") }) else { return [] }
        let rest = lines[(start + 1)...]
        let end = rest.firstIndex(where: { $0.hasPrefix("## ") }) ?? rest.endIndex
        return Array(rest[..<end])
    }

    /// The contents of each fenced code block of the test vector section, whitespace removed.
    static func vectorBlocks() throws -> [String] {
        var blocks: [String] = []
        var inBlock = false
        for line in try testVectorSection() {
            if line.hasPrefix("```") {
                if !inBlock { blocks.append("") }
                inBlock.toggle()
            } else if inBlock {
                blocks[blocks.count - 1] += line.filter { !$0.isWhitespace }
            }
        }
        return blocks
    }

    /// The hex of each invalid example: the first code span of each `| I<n> |` table row;
    /// a row without one is the empty datagram.
    static func invalidExamples() throws -> [(name: String, hex: String)] {
        try testVectorSection().compactMap { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, cells[0].hasPrefix("I"), cells[0].dropFirst().allSatisfy(\.isNumber) else {
                return nil
            }
            let parts = cells[1].split(separator: "`", omittingEmptySubsequences: false)
            return (cells[0], parts.count >= 3 ? String(parts[1]) : "")
        }
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.filter { !$0.isWhitespace })
        guard digits.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else { return nil }
            result.append(byte)
        }
        return result
    }

    @Test("the document holds the five test vectors V1–V5")
    func vectorCount() throws {
        let section = try Self.testVectorSection().joined(separator: "\n")
        for name in ["V1", "V2", "V3", "V4", "V5"] {
            #expect(section.contains("### \(name) "), "\(name) missing")
        }
        #expect(try Self.vectorBlocks().count == 5)
    }

    @Test("every test vector decodes and re-encodes byte for byte")
    func vectorsRoundTrip() throws {
        for hex in try Self.vectorBlocks() {
            let frame = try #require(Self.bytes(hex: hex), "not hex: \(hex)")
            let header = try frame.withUnsafeBytes { try FrameHeader.decode($0) }
            var encoded = [UInt8](repeating: 0, count: FrameLayout.headerSize)
            encoded.withUnsafeMutableBytes { header.encode(into: $0) }
            #expect(encoded == Array(frame.prefix(FrameLayout.headerSize)), "\(hex)")
        }
    }

    @Test("every invalid example is rejected by the decoder")
    func invalidExamplesRejected() throws {
        let examples = try Self.invalidExamples()
        #expect(examples.count >= 11)
        for (name, hex) in examples {
            let frame = try #require(Self.bytes(hex: hex), "\(name): not hex")
            #expect(throws: FrameError.self, "\(name)") { try frame.withUnsafeBytes { try FrameHeader.decode($0) } }
        }
    }

    /// 65459 → "65,459", as the document writes numbers.
    static func grouped(_ value: some BinaryInteger) -> String {
        var digits = Array(String(value))
        var index = digits.count - 3
        while index > 0 {
            digits.insert(",", at: index)
            index -= 3
        }
        return String(digits)
    }

    static func seconds(_ span: TimeSpan) -> String { "\(grouped(span.nanoseconds / 1_000_000_000)) s" }

    /// Each limit as the document's table names it, and its value from the code, formatted.
    static let limits: [(name: String, value: String)] = [
        ("maximumPayload", "\(grouped(Defaults.maximumPayload)) bytes"),
        ("FrameLayout.maximumOverhead", "\(grouped(FrameLayout.maximumOverhead)) bytes"),
        ("maximumPaths", grouped(Defaults.maximumPaths)),
        ("maximumSessions", grouped(Defaults.maximumSessions)),
        ("newSessionAttemptsPerSecond", grouped(Defaults.newSessionAttemptsPerSecond)),
        ("sessionEvictableAfter", seconds(Defaults.sessionEvictableAfter)),
        ("maximumFlowsPerSession", grouped(Defaults.maximumFlowsPerSession)),
        ("maximumFlows", grouped(Defaults.maximumFlows)),
        ("maximumPendingPayloads", grouped(Defaults.maximumPendingPayloads)),
        ("pendingPayloadLifetime", seconds(Defaults.pendingPayloadLifetime)),
        ("probeInterval", seconds(Defaults.probeInterval)),
        ("sessionIdleTimeout", seconds(Defaults.sessionIdleTimeout)),
        ("flowIdleTimeout", seconds(Defaults.flowIdleTimeout)),
        ("acceptanceInterval", "\(grouped(Defaults.acceptanceInterval.nanoseconds / 1_000_000)) ms"),
        ("replySilenceWarning", seconds(Defaults.replySilenceWarning)),
        ("reportInterval", "\(grouped(Defaults.reportInterval.nanoseconds / 1_000_000)) ms"),
        ("warningInterval", seconds(Defaults.warningInterval)),
        ("maximumFECDataShards", grouped(Defaults.maximumFECDataShards)),
        ("maximumFECParityShards", grouped(Defaults.maximumFECParityShards)),
        ("fecTimeout", "\(grouped(Defaults.fecTimeout.nanoseconds / 1_000_000)) ms"),
        ("maximumFECGroups", grouped(Defaults.maximumFECGroups)),
        ("fecGroupLifetime", "\(grouped(Defaults.fecGroupLifetime.nanoseconds / 1_000_000)) ms"),
        ("fecPayloadsKept", grouped(Defaults.fecPayloadsKept)),
        ("ReplayWindow.size", "\(grouped(ReplayWindow.size)) sequence numbers"),
    ]

    @Test("the limits table quotes the values in the code", arguments: 0..<limits.count)
    func limit(index: Int) throws {
        let (name, value) = Self.limits[index]
        let rows = try Self.protocolDocument().split(separator: "\n").filter { $0.hasPrefix("| `\(name)` |") }
        #expect(rows.count == 1, "one row for \(name)")
        let cells = rows.first?.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        #expect(cells.count >= 2 && cells[1] == value, "\(name): the code says \(value)")
    }

    @Test("the MTU advice and the maximum payload follow from the overhead")
    func overhead() throws {
        let document = try Self.protocolDocument()
        let overhead = FrameLayout.maximumOverhead
        #expect(document.contains("65,507 (the largest IPv4 UDP payload) − \(overhead) bytes"))
        #expect(Defaults.maximumPayload == 65_507 - overhead)
        #expect(document.contains("1500 − \(overhead) − 28 = \(1500 - overhead - 28)"))
        #expect(document.contains("1500 − \(overhead) − 48 = \(1500 - overhead - 48)"))
        #expect(document.contains("`ReplayWindow.size` = \(Self.grouped(ReplayWindow.size))"))
    }

    /// Each control-plane limit as README's Limits table words it: the row's first cell, and
    /// what its value cell must say.
    static let controlLimits: [(row: String, value: String)] = [
        (
            "metrics and `--status` connections at once",
            "\(Defaults.maximumControlConnections) each, every one closed "
                + "\(seconds(Defaults.controlConnectionLifetime)) after it was accepted"
        ),
        (
            "metrics request",
            "\(grouped(Defaults.maximumMetricsRequestSize)) bytes (a longer one is answered 431); a request sent in "
                + "pieces is read \(Defaults.metricsTrickleReadSize) bytes at a time, at most every "
                + "\(Defaults.metricsReadPause.nanoseconds / 1_000_000) ms"
        ),
        (
            "sessions listed one by one (metrics, `--status`, SIGUSR1)",
            "\(Defaults.maximumReportedSessions), the most traffic first; totals cover every session"
        ),
        ("samples per metrics page", grouped(Defaults.maximumSeriesPerScrape)),
    ]

    @Test("README's limits table quotes the control plane's limits", arguments: 0..<controlLimits.count)
    func controlLimit(index: Int) throws {
        let (row, value) = Self.controlLimits[index]
        let readme = try String(
            contentsOf: Self.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| \(row) |") }
        #expect(rows.count == 1, "one row for \(row)")
        #expect(rows.first?.hasSuffix("| \(value) |") == true, "\(row): the code says \(value)")
    }
}
