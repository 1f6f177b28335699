// The relay's clock for datagrams it holds: a timerfd on the monotonic clock, watched by
// the loop like a socket. libev's own timers wait in epoll_wait, whose timeout counts whole
// milliseconds rounded up, so each datagram of a delayed or rate-limited link left 0-1 ms
// late at random: a jitter that no line has and that reordered balance mode's paths.
import CSocketExtras
import Glibc
import MPCore
import MPRuntime

/// A one-shot timer that fires at an absolute time of ``MonotonicClock``, to the
/// kernel's high-resolution timers' precision.
final class PreciseTimer {
    private let fd: Int32
    private var watcher: IOWatcher!

    /// A timer on `loop` that calls `handler` when the time last given to ``fire(at:)``
    /// comes; throws when the kernel gives no timerfd.
    init(loop: EventLoop, handler: @escaping () -> Void) throws {
        fd = timerfd_create(CLOCK_MONOTONIC, MP_TFD_NONBLOCK | MP_TFD_CLOEXEC)
        guard fd >= 0 else { throw LabError("timerfd_create: \(String(cString: strerror(errno)))") }
        watcher = IOWatcher(loop: loop, fd: fd) { [unowned self] in
            // Reading clears the expiry; the count of expiries does not matter.
            var expirations: UInt64 = 0
            guard read(fd, &expirations, MemoryLayout<UInt64>.size) == MemoryLayout<UInt64>.size else { return }
            handler()
        }
        watcher.start()
    }

    deinit {
        watcher.stop()
        close(fd)
    }

    /// Sets the timer for `deadline`, replacing any earlier setting; a deadline already past
    /// fires at once.
    func fire(at deadline: Timestamp) {
        // A zero it_value disarms a timerfd: the earliest time it takes is 1 ns.
        let nanoseconds = max(deadline.nanoseconds, 1)
        var setting = itimerspec()
        setting.it_value.tv_sec = Int(nanoseconds / 1_000_000_000)
        setting.it_value.tv_nsec = Int(nanoseconds % 1_000_000_000)
        // Only EINVAL is possible here, for a value the lines above cannot make.
        _ = timerfd_settime(fd, MP_TFD_TIMER_ABSTIME, &setting, nil)
    }
}
