// Time-driven work: the daemons' tick (probes, expiry) and any one-shot wake-up the engines
// ask for. Same ownership scheme as IOWatcher: the Swift object owns a heap ev_timer and
// reaches the C callback through its `data` field (WatcherBox).
import CLibev
import MPCore

/// Calls a handler on the loop's thread after an interval, once or repeatedly. Stopped when
/// the object goes away.
public final class TimerWatcher {
    private let box: WatcherBox<ev_timer>
    /// The first delay and, when repeating, the period.
    public let interval: TimeSpan
    /// Whether the timer fires every `interval` rather than once.
    public let repeating: Bool

    /// Prepares a timer that fires `interval` after ``start()``, and then every `interval`
    /// when `repeating`. It does nothing until started.
    public init(loop: EventLoop, interval: TimeSpan, repeating: Bool, handler: @escaping () -> Void) {
        self.interval = interval
        self.repeating = repeating
        box = WatcherBox(
            loop: loop, handler: handler, start: { ev_timer_start($0, $1) }, stop: { ev_timer_stop($0, $1) }
        ) { mp_ev_timer_init($0, timerCallback, interval.seconds, repeating ? interval.seconds : 0) }
    }

    /// Starts the timer: it fires `interval` from now. Harmless when already started (the
    /// running countdown is kept).
    public func start() {
        // libev measures from its cached loop time; refresh it so the interval counts from now.
        box.loop.updateTime()
        // A one-shot timer that fired keeps its spent countdown (libev leaves about zero
        // there): set the interval again, or a restarted timer would fire at once.
        if !box.isActive { mp_ev_timer_set(box.watcher, interval.seconds, repeating ? interval.seconds : 0) }
        box.start()
    }

    /// Stops the timer and discards a pending expiry; harmless when already stopped.
    public func stop() { box.stop() }

    /// Restarts the timer so it fires `after` from now (then every `interval` when
    /// repeating), whether or not it was started.
    public func reschedule(after: TimeSpan) {
        stop()
        mp_ev_timer_set(box.watcher, after.seconds, repeating ? interval.seconds : 0)
        box.loop.updateTime()
        box.start()
    }

    /// Whether the timer is started (a one-shot timer stops itself when it fires).
    public var isActive: Bool { box.isActive }
}

/// libev's callback: captures nothing, finds the Swift object through `data`.
private func timerCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_timer>?, _ events: Int32) {
    WatcherBox.fire(watcher)
}
