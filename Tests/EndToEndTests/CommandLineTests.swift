import MPTestSupport
import Testing

/// The binaries as a user meets them: help, exit codes, and errors that quote bad input.
@Suite("Command lines")
struct CommandLineTests {
    func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32?, output: String) {
        let lab = TunnelLab()
        let process = try lab.start(executable, arguments)
        let status = process.waitForExit(timeout: .seconds(10))
        return (status, process.log)
    }

    @Test("mpclient --help documents the config file, --log-level and the signals")
    func clientHelp() throws {
        let (status, output) = try run("mpclient", ["--help"])
        #expect(status == 0)
        for text in ["CONFIG_FILE", "--log-level", "listen HOST PORT", "MPTUNNEL_ENCRYPT", "SIGUSR1"] {
            #expect(output.contains(text), "\(text) missing from:\n\(output)")
        }
    }

    @Test("mpserver --help documents the three arguments")
    func serverHelp() throws {
        let (status, output) = try run("mpserver", ["--help"])
        #expect(status == 0)
        for text in [
            "<listen-port>", "<target-host>", "<target-port>", "--bind", "--log-level", "mpserver 2000 127.0.0.1 1194",
        ] {
            #expect(output.contains(text), "\(text) missing from:\n\(output)")
        }
    }

    @Test("a bad config line fails the start with the file, line and quoted text")
    func badConfig() throws {
        let lab = TunnelLab()
        let path = "\(lab.directory)/bad.conf"
        try writeFile(path, "# paths\n127.0.0.1 4000\n127.0.0.1 70000\n")
        let process = try lab.start("mpclient", [path])
        #expect(process.waitForExit() == 64)
        #expect(process.log.contains("\(path):3: port `70000' is out of range 1-65535"), "\(process.log)")
    }

    @Test("a missing config file is named in the error")
    func missingConfig() throws {
        let (status, output) = try run("mpclient", ["/nonexistent/mpclient.conf"])
        #expect(status != 0)
        #expect(output.contains("/nonexistent/mpclient.conf"), "\(output)")
    }

    @Test(
        "mpserver rejects port 0 and out-of-range ports, quoting them",
        arguments: [
            (["0", "127.0.0.1", "1194"], "0"), (["70000", "127.0.0.1", "1194"], "70000"),
            (["2000", "127.0.0.1", "abc"], "abc"),
        ])
    func badPorts(arguments: [String], quoted: String) throws {
        let (status, output) = try run("mpserver", arguments)
        #expect(status == 64)
        #expect(output.contains(quoted), "\(output)")
    }

    @Test("an unresolvable target fails the start with a clear message")
    func unresolvableTarget() throws {
        let (status, output) = try run("mpserver", ["\(freeUDPPort())", "no-such-host.invalid", "1194"])
        #expect(status != 0)
        #expect(output.contains("no-such-host.invalid"), "\(output)")
    }

    @Test("MPTUNNEL_ENCRYPT with a value other than 0 or 1 is refused, quoted")
    func badEncryptSetting() throws {
        let lab = TunnelLab()
        let process = try lab.start(
            "mpserver", ["\(freeUDPPort())", "127.0.0.1", "1194"], environment: ["MPTUNNEL_ENCRYPT": "yes"])
        #expect(process.waitForExit() == 64)
        #expect(process.log.contains("MPTUNNEL_ENCRYPT `yes'"), "\(process.log)")
    }
}
