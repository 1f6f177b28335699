import MPLabSupport
import Testing

@testable import MPCore

/// One numbered case of a table: a config text and what parsing it must give.
private struct ConfigCase<Expected: Sendable>: Sendable, CustomTestStringConvertible {
    var number: Int
    var text: String
    var expected: Expected
    var testDescription: String { "#\(number)" }
}

private func path(_ host: String, _ port: UInt16, line: Int) -> PathConfiguration {
    PathConfiguration(endpoint: Endpoint(host: host, port: port), lineNumber: line)
}

private func error(_ line: Int?, _ kind: ConfigError.Kind) -> ConfigError {
    ConfigError(lineNumber: line, kind: kind)
}

/// `count` paths `10.0.0.N 4000`, one a line, N from 1.
private func manyPaths(_ count: Int) -> String {
    (1...count).map { "10.0.\($0 / 256).\($0 % 256) 4000\n" }.joined()
}

private let defaultListen = ClientConfiguration.defaultListen

private let validCases: [ConfigCase<ClientConfiguration>] = [
    // The original mptunnel's example: comments, a blank line, three paths.
    ConfigCase(
        number: 1,
        text: """
            # mpclient.conf: one bridge per line
            # bridge 1
            10.0.0.1 4000
            # bridge 2
            10.0.0.2 4001

            server.example.com 2000   # straight to mpserver
            """,
        expected: ClientConfiguration(paths: [
            path("10.0.0.1", 4000, line: 3), path("10.0.0.2", 4001, line: 5),
            path("server.example.com", 2000, line: 7),
        ])),
    ConfigCase(
        number: 2, text: "::1 2000\n[2001:db8::1] 2001\n",
        expected: ClientConfiguration(paths: [path("::1", 2000, line: 1), path("2001:db8::1", 2001, line: 2)])),
    ConfigCase(
        number: 3, text: "listen 0.0.0.0 3210\nbridge 1\n",
        expected: ClientConfiguration(
            listen: Endpoint(host: "0.0.0.0", port: 3210), paths: [path("bridge", 1, line: 2)])),
    ConfigCase(
        number: 4, text: "10.0.0.1 4000# no space before the comment\n  # indented comment\n",
        expected: ClientConfiguration(paths: [path("10.0.0.1", 4000, line: 1)])),
    ConfigCase(
        number: 5, text: "listen 127.0.0.1 3001\r\n\r\n10.0.0.1 4000\r\n",
        expected: ClientConfiguration(
            listen: Endpoint(host: "127.0.0.1", port: 3001), paths: [path("10.0.0.1", 4000, line: 3)])),
    ConfigCase(
        number: 6, text: "\t10.0.0.1\t4000\t\n \t \n",
        expected: ClientConfiguration(paths: [path("10.0.0.1", 4000, line: 1)])),
    ConfigCase(
        number: 7, text: "LISTEN [::1] 65535\nlocalhost 65535",
        expected: ClientConfiguration(
            listen: Endpoint(host: "::1", port: 65535), paths: [path("localhost", 65535, line: 2)])),
    // A host named `listen` is written fully qualified.
    ConfigCase(
        number: 8, text: "listen. 2000\n",
        expected: ClientConfiguration(paths: [path("listen.", 2000, line: 1)])),
    ConfigCase(
        number: 9, text: "fe80::1%eth0 2000\n::ffff:192.0.2.1 2001\n[1:2:3:4:5:6:7:8] 2002\n:: 2003\n",
        expected: ClientConfiguration(paths: [
            path("fe80::1%eth0", 2000, line: 1), path("::ffff:192.0.2.1", 2001, line: 2),
            path("1:2:3:4:5:6:7:8", 2002, line: 3), path("::", 2003, line: 4),
        ])),
    ConfigCase(
        number: 10, text: "\u{FEFF}_srv.example.com 08080\nexample.com. 1\nxn--bcher-kva.example 2",
        expected: ClientConfiguration(paths: [
            path("_srv.example.com", 8080, line: 1), path("example.com.", 1, line: 2),
            path("xn--bcher-kva.example", 2, line: 3),
        ])),
    // Same host, different ports are different paths.
    ConfigCase(
        number: 11, text: "10.0.0.1 4000\n10.0.0.1 4001\n",
        expected: ClientConfiguration(paths: [path("10.0.0.1", 4000, line: 1), path("10.0.0.1", 4001, line: 2)])),
    ConfigCase(
        number: 12, text: manyPaths(Defaults.maximumPaths),
        expected: ClientConfiguration(
            paths: (1...Defaults.maximumPaths).map { path("10.0.\($0 / 256).\($0 % 256)", 4000, line: $0) })),
    // The key file's path is taken as written; the directive matches in any case.
    ConfigCase(
        number: 13, text: "Key-File keys/mptunnel.key # relative to the config\n10.0.0.1 4000\n",
        expected: ClientConfiguration(paths: [path("10.0.0.1", 4000, line: 2)], keyFile: "keys/mptunnel.key")),
]

private let invalidCases: [ConfigCase<ConfigError>] = [
    ConfigCase(number: 1, text: "example.com 70000", expected: error(1, .portOutOfRange("70000"))),
    ConfigCase(number: 2, text: "example.com 0", expected: error(1, .portOutOfRange("0"))),
    ConfigCase(number: 3, text: "example.com 65536", expected: error(1, .portOutOfRange("65536"))),
    ConfigCase(
        number: 4, text: "a.b 99999999999999999999999", expected: error(1, .portOutOfRange("99999999999999999999999"))),
    ConfigCase(number: 5, text: "example.com abc", expected: error(1, .invalidPort("abc"))),
    ConfigCase(number: 6, text: "localhost 3000x", expected: error(1, .invalidPort("3000x"))),
    ConfigCase(number: 7, text: "example.com +3000", expected: error(1, .invalidPort("+3000"))),
    ConfigCase(number: 8, text: "example.com -1", expected: error(1, .invalidPort("-1"))),
    ConfigCase(number: 9, text: "localhost abc", expected: error(1, .unknownDirective("localhost"))),
    ConfigCase(number: 10, text: "mdoe balance", expected: error(1, .unknownDirective("mdoe"))),
    ConfigCase(number: 11, text: "key-file\n1.2.3.4 2000", expected: error(1, .missingPath("key-file"))),
    ConfigCase(number: 12, text: "gateway", expected: error(1, .unknownDirective("gateway"))),
    ConfigCase(number: 13, text: "lisen 127.0.0.1 3000", expected: error(1, .unknownDirective("lisen"))),
    ConfigCase(number: 14, text: "example.com # port forgotten", expected: error(1, .missingPort("example.com"))),
    ConfigCase(number: 15, text: "listen", expected: error(1, .missingArgument("listen"))),
    ConfigCase(number: 16, text: "listen 3000", expected: error(1, .missingArgument("listen"))),
    ConfigCase(number: 17, text: "listen 127.0.0.1", expected: error(1, .missingArgument("listen"))),
    ConfigCase(number: 18, text: "listen 127.0.0.1 3000 x", expected: error(1, .unexpectedToken("x"))),
    ConfigCase(number: 19, text: "listen 127.0.0.1 0", expected: error(1, .portOutOfRange("0"))),
    ConfigCase(number: 20, text: "listen a..b 3000", expected: error(1, .invalidHost("a..b"))),
    ConfigCase(
        number: 21, text: "listen ::1 3000\na 1\nlisten ::1 3001\n", expected: error(3, .duplicateListen)),
    ConfigCase(number: 22, text: "1.2.3.4 2000 backp", expected: error(1, .unknownOption("backp"))),
    ConfigCase(
        number: 23, text: "10.0.0.1 4000\n10.0.0.1 4000", expected: error(2, .duplicatePath("10.0.0.1:4000"))),
    ConfigCase(
        number: 24, text: "Example.com 2000\nexample.COM 2000", expected: error(2, .duplicatePath("example.COM:2000"))),
    ConfigCase(number: 25, text: "[::1] 2000\n::1 2000", expected: error(2, .duplicatePath("[::1]:2000"))),
    ConfigCase(
        number: 26, text: manyPaths(Defaults.maximumPaths + 1),
        expected: error(Defaults.maximumPaths + 1, .tooManyPaths(limit: Defaults.maximumPaths))),
    ConfigCase(number: 27, text: "", expected: error(nil, .noPaths)),
    ConfigCase(number: 28, text: "# only a comment\n\n  \n", expected: error(nil, .noPaths)),
    ConfigCase(number: 29, text: "listen 127.0.0.1 3000\n", expected: error(nil, .noPaths)),
    ConfigCase(number: 30, text: "256.1.1.1 2000", expected: error(1, .invalidHost("256.1.1.1"))),
    ConfigCase(number: 31, text: "1.2.3 2000", expected: error(1, .invalidHost("1.2.3"))),
    ConfigCase(number: 32, text: "01.2.3.4 2000", expected: error(1, .invalidHost("01.2.3.4"))),
    ConfigCase(number: 33, text: "[1.2.3.4] 2000", expected: error(1, .invalidHost("[1.2.3.4]"))),
    ConfigCase(number: 34, text: "[::1 2000", expected: error(1, .invalidHost("[::1"))),
    ConfigCase(number: 35, text: "::1] 2000", expected: error(1, .invalidHost("::1]"))),
    ConfigCase(number: 36, text: "[] 2000", expected: error(1, .invalidHost("[]"))),
    ConfigCase(number: 37, text: "1:2:3:4:5:6:7:8:9 2000", expected: error(1, .invalidHost("1:2:3:4:5:6:7:8:9"))),
    ConfigCase(number: 38, text: "1:2:3:4:5:6:7 2000", expected: error(1, .invalidHost("1:2:3:4:5:6:7"))),
    ConfigCase(number: 39, text: "1::2::3 2000", expected: error(1, .invalidHost("1::2::3"))),
    ConfigCase(number: 40, text: "gggg::1 2000", expected: error(1, .invalidHost("gggg::1"))),
    ConfigCase(number: 41, text: "fe80::1% 2000", expected: error(1, .invalidHost("fe80::1%"))),
    ConfigCase(number: 42, text: "::1.2.3.4:5 2000", expected: error(1, .invalidHost("::1.2.3.4:5"))),
    ConfigCase(number: 43, text: "-bad.example 2000", expected: error(1, .invalidHost("-bad.example"))),
    ConfigCase(number: 44, text: "bad-.example 2000", expected: error(1, .invalidHost("bad-.example"))),
    ConfigCase(number: 45, text: "ex!ample.com 2000", expected: error(1, .invalidHost("ex!ample.com"))),
    ConfigCase(number: 46, text: "bücher.example 2000", expected: error(1, .invalidHost("bücher.example"))),
    ConfigCase(
        number: 47, text: String(repeating: "a", count: 64) + ".example 1",
        expected: error(1, .invalidHost(String(repeating: "a", count: 64) + ".example"))),
    ConfigCase(
        number: 48, text: String(repeating: "abcdefg.", count: 32) + "z 1",
        expected: error(1, .invalidHost(String(repeating: "abcdefg.", count: 32) + "z"))),
    // The error is on the third line, and the carriage return is not part of the port.
    ConfigCase(
        number: 49, text: "a.example 1\r\n\r\nb.example 70000\r\n", expected: error(3, .portOutOfRange("70000"))),
    ConfigCase(number: 50, text: "12345 2000", expected: error(1, .invalidHost("12345"))),
    ConfigCase(number: 51, text: "key-file /a b\n1.2.3.4 2000", expected: error(1, .unexpectedToken("b"))),
    ConfigCase(number: 52, text: "key-file /a\nKEY-FILE /b\n1.2.3.4 2000", expected: error(2, .duplicateKeyFile)),
    ConfigCase(number: 53, text: "key-file /etc/mptunnel/key\n", expected: error(nil, .noPaths)),
    ConfigCase(number: 54, text: "mode triplicate\na 1", expected: error(1, .invalidMode("triplicate"))),
    ConfigCase(number: 55, text: "a 1\nmode", expected: error(2, .missingValue("mode"))),
    ConfigCase(number: 56, text: "mode balance x\na 1", expected: error(1, .unexpectedToken("x"))),
    ConfigCase(number: 57, text: "mode balance\nMODE duplicate\na 1", expected: error(2, .duplicateDirective("mode"))),
    ConfigCase(
        number: 58, text: "probe-interval 1s\na 1", expected: error(1, .invalidMilliseconds("probe-interval", "1s"))),
    ConfigCase(
        number: 59, text: "probe-interval 5\na 1",
        expected: error(1, .millisecondsOutOfRange("probe-interval", "5", minimum: 10, maximum: 60_000))),
    ConfigCase(
        number: 60, text: "reorder-window 99999999999999999999\na 1",
        expected: error(
            1, .millisecondsOutOfRange("reorder-window", "99999999999999999999", minimum: 1, maximum: 60_000))),
    ConfigCase(
        number: 61, text: "reorder-window 0\na 1",
        expected: error(1, .millisecondsOutOfRange("reorder-window", "0", minimum: 1, maximum: 60_000))),
    ConfigCase(number: 62, text: "a 1\nreorder-window", expected: error(2, .missingValue("reorder-window"))),
    ConfigCase(
        number: 63, text: "reorder-window 5\nreorder-window 6\na 1",
        expected: error(2, .duplicateDirective("reorder-window"))),
    ConfigCase(number: 64, text: "status-socket\na 1", expected: error(1, .missingPath("status-socket"))),
    ConfigCase(number: 65, text: "status-socket /a /b\na 1", expected: error(1, .unexpectedToken("/b"))),
    ConfigCase(number: 66, text: "a.example 1 backup backup", expected: error(1, .duplicateOption("backup"))),
    ConfigCase(number: 67, text: "a.example 1 backup primary", expected: error(1, .unknownOption("primary"))),
    ConfigCase(
        number: 68, text: "probe-interval -5\na 1", expected: error(1, .invalidMilliseconds("probe-interval", "-5"))),
    ConfigCase(number: 69, text: "metrics-port\na 1", expected: error(1, .missingValue("metrics-port"))),
    ConfigCase(number: 70, text: "metrics-port 0\na 1", expected: error(1, .portOutOfRange("0"))),
    ConfigCase(number: 71, text: "metrics-port 9100 x\na 1", expected: error(1, .unexpectedToken("x"))),
    ConfigCase(
        number: 72, text: "metrics-port 9100\nMETRICS-PORT 9101\na 1",
        expected: error(2, .duplicateDirective("metrics-port"))),
    ConfigCase(
        number: 73, text: "metrics-port 127.0.0.1:9100\na 1", expected: error(1, .invalidPort("127.0.0.1:9100"))),
    ConfigCase(number: 74, text: "reorder-window fast\na 1", expected: error(1, .invalidReorderWindow("fast"))),
    ConfigCase(number: 78, text: "fastest-copies 0\na 1", expected: error(1, .invalidFastestCopies("0"))),
    ConfigCase(number: 79, text: "fastest-copies 5\na 1", expected: error(1, .invalidFastestCopies("5"))),
    ConfigCase(number: 80, text: "fastest-copies two\na 1", expected: error(1, .invalidFastestCopies("two"))),
    ConfigCase(number: 81, text: "fastest-copies\na 1", expected: error(1, .missingValue("fastest-copies"))),
    ConfigCase(number: 82, text: "a 1 rate", expected: error(1, .missingRate)),
    ConfigCase(number: 83, text: "a 1 rate fast", expected: error(1, .invalidRate("fast"))),
    ConfigCase(number: 84, text: "a 1 rate 7", expected: error(1, .invalidRate("7"))),
    ConfigCase(number: 85, text: "a 1 rate 7mb", expected: error(1, .invalidRate("7mb"))),
    ConfigCase(number: 86, text: "a 1 rate -7mbit", expected: error(1, .invalidRate("-7mbit"))),
    ConfigCase(number: 87, text: "a 1 rate 0mbit", expected: error(1, .invalidRate("0mbit"))),
    ConfigCase(number: 88, text: "a 1 rate 1.2.3mbit", expected: error(1, .invalidRate("1.2.3mbit"))),
    ConfigCase(number: 89, text: "a 1 rate 7000bit", expected: error(1, .rateOutOfRange("7000bit"))),
    ConfigCase(number: 90, text: "a 1 rate 101gbit", expected: error(1, .rateOutOfRange("101gbit"))),
    ConfigCase(number: 91, text: "a 1 rate 0.5/s", expected: error(1, .rateOutOfRange("0.5/s"))),
    ConfigCase(number: 92, text: "a 1 rate 1mbit rate 2mbit", expected: error(1, .duplicateOption("rate"))),
    ConfigCase(number: 93, text: "a 1 rate 1mbit backup backup", expected: error(1, .duplicateOption("backup"))),
    ConfigCase(number: 94, text: "a 1 rate 1mbit fast", expected: error(1, .unknownOption("fast"))),
    ConfigCase(number: 95, text: "mode fec 4\na 1", expected: error(1, .invalidFECShards("4"))),
    ConfigCase(number: 96, text: "mode fec 0:2\na 1", expected: error(1, .invalidFECShards("0:2"))),
    ConfigCase(number: 97, text: "mode fec 33:2\na 1", expected: error(1, .invalidFECShards("33:2"))),
    ConfigCase(number: 98, text: "mode fec 4:17\na 1", expected: error(1, .invalidFECShards("4:17"))),
    ConfigCase(number: 99, text: "mode fec 4:-2\na 1", expected: error(1, .invalidFECShards("4:-2"))),
    ConfigCase(number: 100, text: "mode fec 4:2:1\na 1", expected: error(1, .invalidFECShards("4:2:1"))),
    ConfigCase(number: 101, text: "mode fec 4:2 x\na 1", expected: error(1, .unexpectedToken("x"))),
    ConfigCase(number: 102, text: "mode balance 4:2\na 1", expected: error(1, .unexpectedToken("4:2"))),
    ConfigCase(
        number: 103, text: "fec-timeout 1001\na 1",
        expected: error(1, .millisecondsOutOfRange("fec-timeout", "1001", minimum: 1, maximum: 1_000))),
    ConfigCase(
        number: 104, text: "fec-timeout 0\na 1",
        expected: error(1, .millisecondsOutOfRange("fec-timeout", "0", minimum: 1, maximum: 60_000))),
    ConfigCase(
        number: 105, text: "fec-timeout 5\nfec-timeout 5\na 1", expected: error(2, .duplicateDirective("fec-timeout"))),
    ConfigCase(
        number: 82, text: "fastest-copies 2\nfastest-copies 3\na 1",
        expected: error(2, .duplicateDirective("fastest-copies"))),
    ConfigCase(
        number: 75, text: "reorder-window 50ms\na 1", expected: error(1, .invalidMilliseconds("reorder-window", "50ms"))
    ),
    ConfigCase(number: 76, text: "reorder-window auto 5\na 1", expected: error(1, .unexpectedToken("5"))),
    ConfigCase(
        number: 77, text: "reorder-window off\nreorder-window auto\na 1",
        expected: error(2, .duplicateDirective("reorder-window"))),
]

private let settingsCases: [ConfigCase<ClientConfiguration>] = [
    ConfigCase(
        number: 1,
        text: """
            mode balance
            probe-interval 250
            reorder-window 50
            status-socket /tmp/mpclient.sock
            metrics-port 9100
            10.0.0.1 4000
            10.0.0.2 4000 backup   # only when 10.0.0.1 is down
            """,
        expected: ClientConfiguration(
            paths: [
                path("10.0.0.1", 4000, line: 6),
                PathConfiguration(endpoint: Endpoint(host: "10.0.0.2", port: 4000), lineNumber: 7, isBackup: true),
            ],
            mode: .balance, probeInterval: .milliseconds(250), reorderWindow: .fixed(.milliseconds(50)),
            statusSocket: "/tmp/mpclient.sock", metricsPort: 9100)),
    ConfigCase(
        number: 2, text: "MODE Duplicate\nPROBE-INTERVAL 60000\na 1 BACKUP\n",
        expected: ClientConfiguration(
            paths: [PathConfiguration(endpoint: Endpoint(host: "a", port: 1), lineNumber: 3, isBackup: true)],
            probeInterval: .seconds(60))),
    ConfigCase(
        number: 3, text: "reorder-window OFF\na 1 backup",
        expected: ClientConfiguration(
            paths: [PathConfiguration(endpoint: Endpoint(host: "a", port: 1), lineNumber: 2, isBackup: true)],
            reorderWindow: .off)),
    ConfigCase(
        number: 5, text: "fastest-copies 2\na 1 backup",
        expected: ClientConfiguration(
            paths: [PathConfiguration(endpoint: Endpoint(host: "a", port: 1), lineNumber: 2, isBackup: true)],
            fastestCopies: .fixed(2))),
    ConfigCase(
        number: 4, text: "Reorder-Window Auto\na 1 backup",
        expected: ClientConfiguration(
            paths: [PathConfiguration(endpoint: Endpoint(host: "a", port: 1), lineNumber: 2, isBackup: true)],
            reorderWindow: .auto)),
    ConfigCase(
        number: 6, text: "MODE FEC 8:4\nfec-timeout 20\na 1 backup",
        expected: ClientConfiguration(
            paths: [PathConfiguration(endpoint: Endpoint(host: "a", port: 1), lineNumber: 3, isBackup: true)],
            mode: .fec, fec: FECSettings(dataShards: 8, parityShards: 4, timeout: .milliseconds(20)))),
    ConfigCase(
        number: 7, text: "mode fec\na 1 backup",
        expected: ClientConfiguration(
            paths: [PathConfiguration(endpoint: Endpoint(host: "a", port: 1), lineNumber: 2, isBackup: true)],
            mode: .fec, fec: FECSettings(dataShards: 4, parityShards: 2, timeout: .milliseconds(5)))),
]

@Suite("mpclient.conf parser")
struct ConfigParserTests {
    @Test("valid configs", arguments: validCases)
    fileprivate func valid(_ testCase: ConfigCase<ClientConfiguration>) throws {
        #expect(try ConfigParser.parse(testCase.text) == testCase.expected)
    }

    @Test("invalid configs", arguments: invalidCases)
    fileprivate func invalid(_ testCase: ConfigCase<ConfigError>) {
        #expect(throws: testCase.expected) { try ConfigParser.parse(testCase.text) }
    }

    @Test("mode, probe-interval, reorder-window, status-socket, metrics-port and backup", arguments: settingsCases)
    fileprivate func settings(_ testCase: ConfigCase<ClientConfiguration>) throws {
        let configuration = try ConfigParser.parse(testCase.text)
        #expect(configuration == testCase.expected)
        #expect(configuration.backupPaths == (testCase.number == 1 ? PathSet(path: 1) : PathSet(path: 0)))
    }

    @Test func settingsDefaults() throws {
        let configuration = try ConfigParser.parse("10.0.0.1 4000")
        #expect(configuration.mode == .duplicate)
        #expect(configuration.probeInterval == Defaults.probeInterval)
        #expect(configuration.reorderWindow == .off && configuration.statusSocket == nil)
        #expect(configuration.metricsPort == nil && configuration.fastestCopies == .auto)
        #expect(configuration.backupPaths.isEmpty)
    }

    @Test("rate caps: tc's units and datagrams per second, in any order with backup")
    func rateCaps() throws {
        let text = "a 1 rate 7mbit\nb 2 backup RATE 700Kbit\nc 3 rate 0.7MBIT backup\nd 4 rate 600/s\ne 5"
        let configuration = try ConfigParser.parse(text)
        #expect(
            configuration.rateCaps == [
                .bitsPerSecond(7e6), .bitsPerSecond(7e5), .bitsPerSecond(7e5), .datagramsPerSecond(600), nil,
            ])
        #expect(configuration.backupPaths == PathSet(path: 1).union(PathSet(path: 2)))
        #expect(configuration.rateCaps.map { $0?.description ?? "-" } == ["7mbit", "700kbit", "700kbit", "600/s", "-"])
        #expect(
            error(3, .invalidRate("7mb")).message(fileName: "mpclient.conf")
                == "mpclient.conf:3: invalid `rate' value `7mb': expected a number and `bit', `kbit', `mbit', "
                + "`gbit' or `/s' (`7mbit', `600/s')")
        #expect(
            error(3, .rateOutOfRange("1bit")).reason
                == "`rate' value `1bit' is out of range 8kbit-100gbit (or 1-10000000/s)")
        #expect(
            error(3, .missingRate).reason
                == "`rate' needs a value: expected `rate 7mbit', `rate 700kbit' or `rate 600/s'")
    }

    @Test func settingsMessages() {
        let file = "mpclient.conf"
        #expect(
            error(2, .invalidMode("fast")).message(fileName: file)
                == "mpclient.conf:2: invalid mode `fast': expected `duplicate', `balance' or `fec K:M'")
        #expect(
            error(3, .millisecondsOutOfRange("probe-interval", "5", minimum: 10, maximum: 60_000)).message(
                fileName: file)
                == "mpclient.conf:3: `probe-interval' value `5' is out of range 10-60000 ms")
        #expect(
            error(4, .invalidMilliseconds("reorder-window", "50ms")).reason
                == "invalid `reorder-window' value `50ms': expected milliseconds, a whole number")
        #expect(
            error(4, .invalidReorderWindow("fast")).reason
                == "invalid `reorder-window' value `fast': expected `auto', `off' or milliseconds (1-60000)")
        #expect(
            error(2, .invalidFastestCopies("9")).reason
                == "invalid `fastest-copies' value `9': expected `auto' or a whole number 1-4")
        #expect(error(5, .duplicateDirective("mode")).reason == "second `mode' line: it may appear once")
        #expect(
            error(1, .missingValue("mode")).reason
                == "`mode' needs a value: expected `mode duplicate', `mode balance' or `mode fec K:M'")
        #expect(
            error(1, .missingValue("metrics-port")).reason
                == "`metrics-port' needs a value: expected `metrics-port PORT'")
    }

    @Test func defaultListenAddress() throws {
        let configuration = try ConfigParser.parse("10.0.0.1 4000")
        #expect(configuration.listen == Endpoint(host: Defaults.listenHost, port: Defaults.listenPort))
    }

    @Test func messages() {
        let file = "mpclient.conf"
        #expect(
            error(4, .portOutOfRange("70000")).message(fileName: file)
                == "mpclient.conf:4: port `70000' is out of range 1-65535")
        #expect(error(nil, .noPaths).message(fileName: file) == "mpclient.conf: no path: add a line `HOST PORT'")
        #expect(
            error(2, .missingArgument("listen")).description
                == "config:2: `listen' needs a host and a port: expected `listen HOST PORT'")
        #expect(
            error(7, .unknownOption("backup")).message(fileName: file)
                == "mpclient.conf:7: unknown option `backup' after `HOST PORT'")
        #expect(
            error(1, .unknownDirective("mode")).message(fileName: file)
                == "mpclient.conf:1: unknown directive `mode': expected `HOST PORT' or `listen HOST PORT'")
        #expect(
            error(3, .invalidPort("3000x")).message(fileName: file)
                == "mpclient.conf:3: invalid port `3000x': expected a number 1-65535")
    }

    @Test func keyFileMessages() {
        #expect(
            error(2, .missingPath("key-file")).message(fileName: "mpclient.conf")
                == "mpclient.conf:2: `key-file' needs a path: expected `key-file PATH'")
        #expect(error(3, .duplicateKeyFile).reason == "second `key-file' line: mpclient uses one key")
    }

    @Test func messagesEscapeAndShortenHostileText() {
        let escaped = error(1, .invalidHost("\u{1B}[2J\nx")).message(fileName: "c")
        #expect(
            escaped == "c:1: invalid host `\\u{1b}[2J\\u{a}x': expected a host name, an IPv4 address or an IPv6 address"
        )
        let long = error(1, .invalidPort(String(repeating: "9x", count: 100))).reason
        #expect(long == "invalid port `" + String(repeating: "9x", count: 32) + "...': expected a number 1-65535")
    }

    @Test func endpointDescription() {
        #expect(Endpoint(host: "::1", port: 2000).description == "[::1]:2000")
        #expect(Endpoint(host: "10.0.0.1", port: 4000).description == "10.0.0.1:4000")
        #expect(Endpoint(host: "example.com", port: 1).description == "example.com:1")
    }

    /// A line that throws changes nothing: a caller can report every error and go on.
    @Test func failedLineLeavesParserUnchanged() throws {
        var parser = ConfigParser()
        try parser.feed(line: "10.0.0.1 4000", lineNumber: 1)
        #expect(throws: error(2, .unknownOption("standby"))) {
            try parser.feed(line: "10.0.0.2 4000 standby", lineNumber: 2)
        }
        #expect(throws: error(3, .unexpectedToken("x"))) { try parser.feed(line: "listen ::1 1 x", lineNumber: 3) }
        try parser.feed(line: "10.0.0.2 4000" as Substring, lineNumber: 4)
        try parser.feed(line: "listen ::1 1", lineNumber: 5)
        let expected = ClientConfiguration(
            listen: Endpoint(host: "::1", port: 1),
            paths: [path("10.0.0.1", 4000, line: 1), path("10.0.0.2", 4000, line: 4)])
        #expect(try parser.finish() == expected)
    }
}

/// Pieces a sweep line is built from: the grammar's words, near misses, separators and
/// hostile scalars (controls, a combining mark, a byte order mark, a lone `\r`).
private let sweepFragments: [String] = [
    "listen", "LISTEN", "listen.", "#", " ", "\t", "\r", "\n", "::", "::1", "[::1]", "[", "]", ":", ".", "-", "+",
    "%", "%eth0", "_", "1.2.3.4", "256.0.0.1", "example.com", "a..b", "3000", "0", "65535", "65536", "08080",
    "99999999999999999999", "backup", "mode", "fe80::", "ffff", "é", "\u{301}", "\u{FEFF}", "\u{0}", "\u{1B}",
    "\u{7F}", "\u{202E}", "🦆", String(repeating: "a", count: 70), String(repeating: "b.", count: 130),
]

private func sweepLine(using random: inout SplitMix64) -> String {
    var line = ""
    for _ in 0..<Int.random(in: 0...7, using: &random) {
        if Bool.random(using: &random) {
            line += sweepFragments.randomElement(using: &random)!
        } else {
            let scalar = Unicode.Scalar(UInt32.random(in: 0...0x7F, using: &random))!
            line.unicodeScalars.append(scalar)
        }
        if Int.random(in: 0..<3, using: &random) == 0 { line += " " }
    }
    return line
}

extension ConfigParserTests {
    /// Thousands of pseudo-random lines in short documents: each line parses or throws a
    /// ConfigError (never a trap), every message is one printable line, and every accepted
    /// configuration keeps the parser's promises.
    @Test func pseudoRandomLinesNeverCrash() {
        var random = SplitMix64(seed: 0x6D70_7475_6E6E_656C)
        var accepted = 0
        var rejected = 0
        for _ in 0..<300 {
            var parser = ConfigParser()
            for lineNumber in 1...10 {
                do {
                    try parser.feed(line: sweepLine(using: &random), lineNumber: lineNumber)
                } catch {
                    rejected += 1
                    #expect(error.lineNumber == lineNumber)
                    #expect(error.message(fileName: "f").unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) })
                }
            }
            if let configuration = try? parser.finish() {
                accepted += 1
                #expect((1...Defaults.maximumPaths).contains(configuration.paths.count))
                #expect(configuration.paths.allSatisfy { $0.endpoint.port != 0 && !$0.endpoint.host.isEmpty })
                #expect(Set(configuration.paths.map(\.endpoint)).count == configuration.paths.count)
            }
        }
        #expect(rejected > 0)
        #expect(accepted > 0)
    }

    /// Whole pseudo-random texts through `parse`, which also splits lines.
    @Test func pseudoRandomTextsNeverCrash() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<200 {
            let text = (0..<Int.random(in: 0...5, using: &random)).map { _ in sweepLine(using: &random) }
                .joined(separator: Bool.random(using: &random) ? "\n" : "\r\n")
            do {
                _ = try ConfigParser.parse(text)
            } catch {
                #expect(!error.message(fileName: "f").isEmpty)
            }
        }
    }
}
