// `mplab cpu`: what sealing adds to each daemon's CPU per payload, beside what libcrypto
// alone needs for it, measured in one run with less noise than the cipher's own cost.
import ArgumentParser
import MPCore

struct CPUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpu",
        abstract: "Measure the CPU that sealing adds to mpclient and mpserver per payload.",
        discussion: """
            For each size, one tunnel of one path keyless and one sealed with each cipher (every \
            hop its own process, as in `mplab bench`), all started at once; then --rounds rounds, \
            in each of which every tunnel carries --rate payloads per second for --round-seconds \
            (the order turning from round to round) and libcrypto alone seals and opens \
            --floor-frames frames of each cipher with a context kept per key (the floor). Each \
            daemon's CPU time is read with nanosecond precision (clock_getcpuclockid) before \
            and after its round and divided by the payloads that came back: a payload echoed \
            costs each side one seal and one open. Added is the median over rounds of sealed \
            minus keyless of the same round; floor is the median of libcrypto's seal + open. \
            A round with 1% or more of its payloads lost fails the run: lower --rate. Prints \
            Markdown on standard output, progress on standard error.
            """)

    @Option(help: "Datagram sizes in bytes, comma-separated (16-1400).", transform: parseIntegers)
    var sizes: [Int] = [64, 1_200]

    @Option(help: "Ciphers of the sealed tunnels, comma-separated.", transform: parseCiphers)
    var ciphers: [Cipher] = Cipher.allCases

    @Option(help: "Payloads per second through each tunnel (the highest every tunnel carries).")
    var rate = 80_000

    @Option(help: "Rounds of each tunnel (3-40).")
    var rounds = 7

    @Option(name: .customLong("round-seconds"), help: "Seconds of each round.", transform: parseSeconds)
    var roundSeconds: Double = 2

    @Option(name: .customLong("floor-frames"), help: "Frames libcrypto seals and opens per round and cipher.")
    var floorFrames = 100_000

    @Option(help: "Directory holding mpserver and mpclient (default: mplab's own directory).")
    var binaries: String?

    func validate() throws {
        try check(rate, in: 1_000...400_000, flag: "--rate")
        try check(rounds, in: 3...40, flag: "--rounds")
        try check(floorFrames, in: 1_000...10_000_000, flag: "--floor-frames")
        for size in sizes { try check(size, in: LoadPayload.timedSize...1_400, flag: "--sizes") }
    }

    func run() throws {
        let workspace = try DemoWorkspace.make(binaryDirectory: binaries, prefix: "mplab-cpu")
        var succeeded = false
        defer {
            if succeeded { workspace.remove() } else { warn("mplab cpu: logs in \(workspace.directory)") }
        }
        let lab = try LabLoop()
        let machine = BenchMachine.current(directory: workspace.directory)
        warn("mplab cpu: \(machine.markdown)")
        let run = CPURun(command: self, workspace: workspace, lab: lab)
        let keyFile = try BenchRun.makeKeyFile(in: workspace)
        var results: [CPUResult] = []
        for size in sizes { results += try run.measure(size: size, keyFile: keyFile) }
        emit(CPUResult.markdown(results, command: self, machine: machine))
        succeeded = true
    }
}

/// Parses `chacha20-poly1305,aes-256-gcm`.
func parseCiphers(_ text: String) throws -> [Cipher] {
    try text.split(separator: ",").map { try parseCipher(String($0)) }
}
