// Work too long for one turn of the loop, done a slice per turn: the metrics page and the
// status table of an mpserver with thousands of sessions. Each slice runs from a zero-delay
// timer, so the datagrams that arrived meanwhile are served between slices.
import MPCore

/// Calls `slice` once per turn of the loop until it returns the result, then hands the
/// result to `done` (with the runner, which knows how long its slices took). Stopped when the object goes away. Not thread-safe: use it from the
/// event loop's thread.
final class SliceRunner {
    private var slice: (() -> String?)?
    private let done: (SliceRunner, String) -> Void
    private var timer: TimerWatcher?
    /// The longest slice so far, in time and in the loop thread's CPU time.
    private(set) var longest = TimeSpan(nanoseconds: 0)
    private(set) var longestCPU = TimeSpan(nanoseconds: 0)

    /// Runs the first slice now and the others on later turns of `loop`.
    init(loop: EventLoop, slice: @escaping () -> String?, done: @escaping (SliceRunner, String) -> Void) {
        self.slice = slice
        self.done = done
        timer = TimerWatcher(loop: loop, interval: TimeSpan(nanoseconds: 0), repeating: false) { [unowned self] in
            runSlice()
        }
        runSlice()
    }

    deinit { timer?.stop() }

    private func runSlice() {
        guard let slice else { return }
        let began = MonotonicClock.now()
        let cpuBefore = MonotonicClock.threadCPUTime()
        let result = slice()
        longest = max(longest, MonotonicClock.now() - began)
        longestCPU = max(
            longestCPU, TimeSpan(nanoseconds: MonotonicClock.threadCPUTime().nanoseconds &- cpuBefore.nanoseconds))
        guard let result else {
            timer?.start()
            return
        }
        self.slice = nil
        done(self, result)
    }
}
