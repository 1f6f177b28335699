// A one-shot wake-up that follows a deadline an engine names (mpclient's and mpserver's
// rebuilt fec payloads): the timer is set only when the deadline moves, and stopped when
// there is none, so the loop wakes nobody for nothing.
import MPCore

/// A one-shot timer that fires at the deadline last given to ``follow(_:now:)``.
final class DeadlineTimer {
    let watcher: TimerWatcher
    /// The deadline the timer is set for; `nil` when stopped or fired.
    private(set) var deadline: Timestamp?

    /// A timer on `loop` that calls `handler` at its deadline (after clearing it).
    init(loop: EventLoop, handler: @escaping () -> Void) {
        var fire: () -> Void = {}
        // The interval is never used: the timer is only ever rescheduled for a deadline.
        watcher = TimerWatcher(loop: loop, interval: .milliseconds(100), repeating: false) { fire() }
        fire = { [unowned self] in
            deadline = nil
            handler()
        }
    }

    /// Sets the timer for `deadline` (at `now`) if it moved; stops it when `deadline` is nil.
    func follow(_ deadline: Timestamp?, now: Timestamp) {
        guard deadline != self.deadline else { return }
        self.deadline = deadline
        if let deadline {
            watcher.reschedule(after: ClientDaemon.drainDelay(deadline - now))
        } else {
            watcher.stop()
        }
    }
}
