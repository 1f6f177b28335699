// The machine a benchmark ran on, for the report: a rate means little without it.
import Glibc
import MPCore
import MPLabSupport
import MPRuntime

struct BenchMachine {
    let processors: Int
    let cpuModel: String
    let kernel: String
    let swiftVersion: String
    let date: String
    /// /proc/loadavg's 1-minute load when the run began: above the CPU count, other programs
    /// competed for the cores and the rates say more about them than about the tunnel.
    let loadAverage: String

    /// Reads the machine's description now; the Swift version from `swift --version`
    /// (run with its output in `directory`, at most 10 s), else the compiler that built mplab.
    static func current(directory: String) -> BenchMachine {
        BenchMachine(
            processors: sysconf(Int32(_SC_NPROCESSORS_ONLN)), cpuModel: cpuModel(), kernel: kernelRelease(),
            swiftVersion: swiftVersion(directory: directory) ?? compilerVersion, date: utcDate(),
            loadAverage: currentLoadAverage())
    }

    private static var compilerVersion: String {
        #if compiler(>=6.3)
            "6.3 or later (the compiler that built mplab)"
        #else
            "before 6.3 (the compiler that built mplab)"
        #endif
    }

    private static func swiftVersion(directory: String) -> String? {
        let output = directory + "/swift-version.txt"
        guard
            let child = try? ChildProcess.spawn(
                name: "swift", executable: "/usr/bin/env", arguments: ["swift", "--version"], logPath: output)
        else { return nil }
        let deadline = MonotonicClock.now() + .seconds(10)
        while !child.hasExited && MonotonicClock.now() < deadline { usleep(20_000) }
        if !child.hasExited {
            kill(child.pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(child.pid, &status, 0)
        }
        let text = (try? TextFile.read(path: output)) ?? ""
        // "Swift version 6.3.1 (swift-6.3.1-RELEASE)"
        let marker = "Swift version "
        for line in text.split(separator: "\n") where line.hasPrefix(marker) {
            return String(line.dropFirst(marker.count))
        }
        return nil
    }

    static func currentLoadAverage() -> String {
        let text = (try? TextFile.read(path: "/proc/loadavg")) ?? ""
        return text.split(separator: " ").first.map(String.init) ?? "unknown"
    }

    private static func cpuModel() -> String {
        let text = (try? TextFile.read(path: "/proc/cpuinfo")) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map {
            String($0.drop { $0 == " " })
        } ?? "unknown"
    }

    private static func kernelRelease() -> String {
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let machine = withUnsafeBytes(of: names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "Linux \(release) \(machine)"
    }

    private static func utcDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var text = [CChar](repeating: 0, count: 32)
        strftime(&text, text.count, "%Y-%m-%d %H:%M UTC", &parts)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    var markdown: String {
        "\(processors) CPUs (\(cpuModel)), \(kernel), Swift \(swiftVersion), \(date), load average \(loadAverage)"
    }

    var json: JSONValue {
        .object([
            ("nproc", .integer(processors)), ("cpuModel", .string(cpuModel)), ("kernel", .string(kernel)),
            ("swift", .string(swiftVersion)), ("date", .string(date)), ("loadAverage", .string(loadAverage)),
        ])
    }
}
