// How much CPU time the host took from this virtual machine, from /proc/stat. The benchmark
// reports it beside its round trips; the tests use it to tell the tunnel being late from
// the machine being paused. The daemons never read it.
import Glibc
import MPRuntime

/// The machine's CPU time from /proc/stat's `cpu` line, in clock ticks: all of it and the
/// part "stolen" (a virtual machine's CPUs waiting while the host ran something else).
/// Steal delays whatever runs on the waiting CPU by milliseconds, so it decides round-trip
/// tails and deadlines on a shared host.
public struct StealSample: Sendable {
    /// Clock ticks stolen since boot, all CPUs together.
    public let steal: Int
    /// Clock ticks of every kind since boot, all CPUs together.
    public let total: Int

    /// Clock ticks per second of /proc/stat's times (USER_HZ, 100 on Linux).
    public static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    /// The CPUs whose times the `cpu` line adds up.
    public static let processors = max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)

    /// A sample of `steal` ticks stolen out of `total`.
    public init(steal: Int, total: Int) {
        self.steal = steal
        self.total = total
    }

    /// Now; nil when /proc/stat cannot be read or has no steal field (before Linux 2.6.11).
    public static func now() -> StealSample? {
        guard let text = try? TextFile.read(path: "/proc/stat"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return nil }
        // cpu user nice system idle iowait irq softirq steal guest guest_nice; the guest
        // times are counted in user and nice already.
        let ticks = line.split(separator: " ").dropFirst().compactMap { Int($0) }
        guard ticks.count >= 8 else { return nil }
        return StealSample(steal: ticks[7], total: ticks.prefix(8).reduce(0, +))
    }

    /// The share of all CPU time since `earlier` that was stolen, 0...1.
    public func share(since earlier: StealSample) -> Double {
        total == earlier.total ? 0 : Double(steal - earlier.steal) / Double(total - earlier.total)
    }

    /// Seconds each CPU spent stolen since `earlier`, on average: about how long the
    /// machine stood still in that time.
    public func stolenSeconds(since earlier: StealSample) -> Double {
        Double(steal - earlier.steal) / Self.ticksPerSecond / Double(Self.processors)
    }
}
