// The lab kit's entry point: lossy relays, an echo target, a load generator and the
// loopback demonstration of README.md, as subcommands of one executable.
import ArgumentParser
import MPRuntime

@main
struct MPLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mplab",
        abstract: "Lab tools for mptunnel on loopback: lossy relays, an echo target, load, a demo and benchmarks.",
        discussion: """
            Example without the tunnel (about 36% of echoes lost: 0.8 x 0.8 come back):
              mplab echo --listen 127.0.0.1:1194 &
              mplab relay --listen 127.0.0.1:4000 --to 127.0.0.1:1194 --drop 0.2 &
              mplab load --to 127.0.0.1:4000 --rate 1000 --duration 5
            """,
        version: Release.versionText,
        subcommands: [
            RelayCommand.self, EchoCommand.self, LoadCommand.self, DemoCommand.self, BenchCommand.self,
            SessionsCommand.self, BalanceCommand.self, FECCommand.self, CPUCommand.self,
        ])
}
