// The benchmark's CPU accounting: samples of its processes' CPU time (ProcessStats, from
// /proc) taken at two moments and subtracted.
import Glibc
import MPCore
import MPRuntime

/// CPU seconds of several processes at one moment, to subtract from a later sample.
struct CPUSample {
    let seconds: [String: Double]
    let taken: Timestamp

    init(_ processes: [(name: String, pid: pid_t)]) {
        var seconds: [String: Double] = [:]
        for process in processes { seconds[process.name] = ProcessStats.cpuSeconds(pid: process.pid) ?? 0 }
        self.seconds = seconds
        taken = MonotonicClock.now()
    }

    /// CPU seconds each process used since `earlier`, and the wall-clock seconds between.
    func since(_ earlier: CPUSample) -> (cpu: [String: Double], wallSeconds: Double) {
        let cpu = seconds.reduce(into: [String: Double]()) { result, entry in
            result[entry.key] = entry.value - (earlier.seconds[entry.key] ?? 0)
        }
        return (cpu, (taken - earlier.taken).seconds)
    }
}
