// The Debian package as a VPS or a gateway without a toolchain gets it: built by
// Configs/package/build-deb.sh (CI runs it before the tests; here it is built when missing or
// older than the sources), extracted with `dpkg-deb -x`, and its binaries run in a private
// mount namespace with an empty tmpfs over the Swift toolchain's library folder, so a binary
// that still loads anything from the toolchain does not start.
import Foundation
import MPCore
import MPRuntime
import MPTestSupport
import Testing

@Suite("Debian package", .serialized)
struct PackageTests {
    @Test("the packaged daemons start with the toolchain hidden: --version, --help")
    func versionAndHelp() throws {
        let package = try InstalledPackage.shared.get()
        let version = try package.run("mpserver", ["--version"])
        #expect(version.status == 0, "\(version.output)")
        #expect(version.output.contains("\(Release.version) (protocol \(FrameLayout.version))"), "\(version.output)")
        let help = try package.run("mpclient", ["--help"])
        #expect(help.status == 0, "\(help.output)")
        #expect(help.output.contains("mpclient [<options>] <config-file>"), "\(help.output)")
        let serverHelp = try package.run("mpserver", ["--help"])
        #expect(serverHelp.output.contains("<listen-port> <target-host> <target-port>"), "\(serverHelp.output)")
    }

    @Test("the hidden toolchain is really hidden: the build's own mpserver does not start there")
    func toolchainHidden() throws {
        let package = try InstalledPackage.shared.get()
        let result = try package.run(path: "\(productsDirectory())/mpserver", ["--version"])
        #expect(result.status != 0, "\(result.output)")
        #expect(result.output.contains("libswift"), "\(result.output)")
    }

    @Test("a keyed tunnel through two relays with the packaged mpserver and mpclient")
    func keyedTunnel() throws {
        let package = try InstalledPackage.shared.get()
        let lab = try TunnelLab(keyed: true, products: package.wrappers)
        let echoPort = freeUDPPort()
        let serverPort = freeUDPPort()
        let listenPort = freeUDPPort()
        let relayPorts = [freeUDPPort(), freeUDPPort()]
        try lab.startEcho(port: echoPort)
        let server = try lab.startServer(port: serverPort, targetPort: echoPort)
        for (index, port) in relayPorts.enumerated() {
            try lab.startRelay(listenPort: port, targetPort: serverPort, seed: index + 1)
        }
        try lab.startClient(listenPort: listenPort, pathPorts: relayPorts)
        #expect(try lab.waitForTunnel(listenPort: listenPort), "\(lab.logs)")
        let prober = try Prober(to: .loopbackIPv4(port: listenPort))
        // Each of 20 datagrams comes back; a retry covers a loss on the shared machine.
        let returned = (0..<20).filter { index in
            let payload = Array("packaged \(index)".utf8)
            return (0..<3).contains { _ in prober.roundTrip(payload, timeout: .milliseconds(500)) == payload }
        }
        #expect(returned.count == 20, "\(lab.logs)")
        #expect(server.log.contains("frames sealed with"), "\(server.log)")
        #expect(!server.log.contains("no key"), "\(server.log)")
    }

    @Test("the package holds the units, the conffile and its dependencies")
    func contents() throws {
        let package = try InstalledPackage.shared.get()
        let depends = try package.field("Depends")
        for name in ["libc6", "libev4", "libssl3", "libisal2"] {
            #expect(depends.contains(name), "\(depends)")
        }
        #expect(try package.control("conffiles").contains("/etc/mptunnel/mpclient.conf"))
        for daemon in ["mpserver", "mpclient"] {
            let unit = try String(
                contentsOfFile: "\(package.root)/lib/systemd/system/\(daemon).service", encoding: .utf8)
            #expect(unit.contains("ExecStart=/usr/bin/\(daemon) "), "\(unit)")
            #expect(unit.contains("\nRestartPreventExitStatus=64 78\n"), "\(unit)")
            #expect(!unit.contains("/usr/local/"), "\(unit)")
        }
    }

    @Test("the manual pages and completions name every option", arguments: ["mpserver", "mpclient"])
    func manualAndCompletions(daemon: String) throws {
        let package = try InstalledPackage.shared.get()
        let options = try package.longOptions(daemon)
        #expect(options.contains("key-file") && options.contains("version") && options.contains("genkey"))
        let manual = try package.unzip("usr/share/man/man1/\(daemon).1.gz")
        let bash = try package.text("usr/share/bash-completion/completions/\(daemon)")
        let zsh = try package.text("usr/share/zsh/vendor-completions/_\(daemon)")
        let fish = try package.text("usr/share/fish/vendor_completions.d/\(daemon).fish")
        for option in options {
            #expect(manual.contains("Fl -\(option)"), "\(daemon).1 lacks --\(option)")
            #expect(bash.contains("--\(option)"), "bash completion of \(daemon) lacks --\(option)")
            #expect(zsh.contains("--\(option)"), "zsh completion of \(daemon) lacks --\(option)")
            #expect(fish.contains("-l '\(option)'") || fish.contains("-l \(option)"), "fish lacks \(option)")
        }
        // The synopsis shows the daemon's arguments as required, as its usage line does.
        let required = daemon == "mpserver" ? ["listen-port", "target-host", "target-port"] : ["config-file"]
        for argument in required {
            #expect(manual.contains("\n.Ar \(argument)\n"), "\(daemon).1: \(argument) not required")
        }
    }
}
