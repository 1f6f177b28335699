// What the benchmark and the tests read about the processes they run, from /proc: CPU time
// (user plus system, /proc/PID/stat fields 14 and 15, in clock ticks) and resident memory
// (VmRSS in /proc/PID/status). Linux only, like the rest of the runtime.
import Glibc

/// CPU time and resident memory of a process, from /proc.
public enum ProcessStats {
    /// Clock ticks per second of the times in /proc/PID/stat (USER_HZ, 100 on Linux).
    public static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// User plus system CPU seconds `pid` has used so far; nil when it is gone.
    public static func cpuSeconds(pid: pid_t) -> Double? {
        times(pid: pid).map { $0.user + $0.system }
    }

    /// User CPU seconds `pid` has used so far; nil when it is gone. The kernel splits its
    /// precise total between user and system by sampling at its ticks.
    public static func userSeconds(pid: pid_t) -> Double? {
        times(pid: pid)?.user
    }

    private static func times(pid: pid_t) -> (user: Double, system: Double)? {
        guard let text = try? TextFile.read(path: "/proc/\(pid)/stat"),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // After the command name in parentheses: field 3 (state) onwards; utime and stime
        // are fields 14 and 15, so offsets 11 and 12 from field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user / ticksPerSecond, system / ticksPerSecond)
    }

    /// Resident memory of `pid` in kilobytes (VmRSS); nil when it is gone.
    public static func residentKilobytes(pid: pid_t) -> Int? {
        guard let text = try? TextFile.read(path: "/proc/\(pid)/status") else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
}
