import MPCore
import MPRuntime
import MPTestSupport
import Testing
import MPLabSupport

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

    @Test("a bad config line exits 78 with the file, line and quoted text, and no usage text")
    func badConfig() throws {
        let lab = TunnelLab()
        let path = "\(lab.directory)/bad.conf"
        try writeFile(path, "# paths\n127.0.0.1 4000\n127.0.0.1 70000\n")
        let process = try lab.start("mpclient", [path])
        #expect(process.waitForExit() == 78)
        #expect(process.log.contains("Error: \(path):3: port `70000' is out of range 1-65535"), "\(process.log)")
        #expect(!process.log.contains("USAGE") && !process.log.contains("Usage"), "\(process.log)")
    }

    @Test("a missing config file exits 78, named in the error")
    func missingConfig() throws {
        let (status, output) = try run("mpclient", ["/nonexistent/mpclient.conf"])
        #expect(status == 78)
        #expect(output.contains("/nonexistent/mpclient.conf"), "\(output)")
        #expect(!output.contains("Usage"), "\(output)")
    }

    @Test("a key file that holds no key exits 78, named in the error", arguments: ["mpserver", "mpclient"])
    func badKeyFile(daemon: String) throws {
        let lab = TunnelLab()
        let key = "\(lab.directory)/key"
        try writeFile(key, "not a key\n")
        let process: ChildProcess
        if daemon == "mpserver" {
            process = try lab.startServer(port: freeUDPPort(), targetPort: freeUDPPort(), key: .file(key))
        } else {
            process = try lab.startClient(listenPort: freeUDPPort(), pathPorts: [freeUDPPort()], key: .file(key))
        }
        #expect(process.waitForExit() == 78)
        #expect(process.log.contains("key file `\(key)'"), "\(process.log)")
        #expect(!process.log.contains("Usage"), "\(process.log)")
    }

    @Test("a usage error exits 64 with the usage lines, required arguments shown as required")
    func usageErrors() throws {
        let (clientStatus, clientOutput) = try run("mpclient", [])
        #expect(clientStatus == 64)
        #expect(clientOutput.contains("mpclient [<options>] <config-file>"), "\(clientOutput)")
        let (serverStatus, serverOutput) = try run("mpserver", ["2000"])
        #expect(serverStatus == 64)
        #expect(
            serverOutput.contains("mpserver [<options>] <listen-port> <target-host> <target-port>"), "\(serverOutput)")
        let (flagStatus, flagOutput) = try run("mpserver", ["--no-such-flag"])
        #expect(flagStatus == 64, "\(flagOutput)")
    }

    @Test("--version names the release and the protocol version", arguments: ["mpclient", "mpserver", "mplab"])
    func version(executable: String) throws {
        let (status, output) = try run(executable, ["--version"])
        #expect(status == 0)
        #expect(output == "\(Release.version) (protocol \(FrameLayout.version))\n", "\(output)")
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

    @Test("MPTUNNEL_ENCRYPT with a value other than 0 or 1 exits 78, quoted")
    func badEncryptSetting() throws {
        let lab = TunnelLab()
        let process = try lab.start(
            "mpserver", ["\(freeUDPPort())", "127.0.0.1", "1194"], environment: ["MPTUNNEL_ENCRYPT": "yes"])
        #expect(process.waitForExit() == 78)
        #expect(process.log.contains("MPTUNNEL_ENCRYPT `yes'"), "\(process.log)")
    }
}

/// Logging under systemd: journald reads a `<N>` prefix as the line's priority.
@Suite("Journal logging")
struct JournalLoggingTests {
    /// Starts mpserver keyless with JOURNAL_STREAM set to `stream`, or, when nil, to the
    /// device and inode of its standard error (as systemd sets it), and returns its log
    /// once the keyless warning is in it.
    func serverLog(journalStream stream: String?) throws -> String {
        let lab = TunnelLab()
        let value = stream ?? "$(stat -L -c %d:%i /proc/self/fd/2)"
        let command = "export JOURNAL_STREAM=\(value); exec \"$0\" \"$@\""
        let process = try lab.start(
            "sh", ["-c", command, "\(lab.products)/mpserver", "\(freeUDPPort())", "127.0.0.1", "\(freeUDPPort())"])
        _ = waitUntil(timeout: .seconds(10), poll: .milliseconds(10)) { process.log.contains("no key") }
        process.stop()
        return process.log
    }

    @Test("with JOURNAL_STREAM naming standard error, lines carry priorities and no timestamp")
    func priorities() throws {
        let log = try serverLog(journalStream: nil)
        let lines = log.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<4>warning mpserver:") && $0.contains("no key") }, "\(log)")
        #expect(lines.contains { $0.hasPrefix("<6>info mpserver:") }, "\(log)")
        #expect(lines.allSatisfy { $0.hasPrefix("<") }, "\(log)")
    }

    @Test("a JOURNAL_STREAM inherited by a redirected standard error is ignored")
    func inherited() throws {
        let log = try serverLog(journalStream: "1:1")
        #expect(log.contains("no key"), "\(log)")
        #expect(!log.contains("<4>"), "\(log)")
    }
}
