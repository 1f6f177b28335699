// Time-driven work: the daemons' tick (probes, expiry) and any one-shot wake-up the engines
// ask for. Same ownership scheme as IOWatcher: the Swift object owns a heap ev_timer and
// reaches the C callback through its `data` field.
import CLibev
import MPCore

/// Calls a handler on the loop's thread after an interval, once or repeatedly. Stopped when
/// the object goes away.
public final class TimerWatcher {
    /// Strong, so the loop outlives every watcher registered on it.
    private let loop: EventLoop
    private let watcher: UnsafeMutablePointer<ev_timer>
    private let handler: () -> Void
    /// The first delay and, when repeating, the period.
    public let interval: TimeSpan
    /// Whether the timer fires every `interval` rather than once.
    public let repeating: Bool

    /// Prepares a timer that fires `interval` after ``start()``, and then every `interval`
    /// when `repeating`. It does nothing until started.
    public init(loop: EventLoop, interval: TimeSpan, repeating: Bool, handler: @escaping () -> Void) {
        self.loop = loop
        self.interval = interval
        self.repeating = repeating
        self.handler = handler
        watcher = UnsafeMutablePointer<ev_timer>.allocate(capacity: 1)
        watcher.initialize(to: ev_timer())
        mp_ev_timer_init(watcher, timerCallback, interval.seconds, repeating ? interval.seconds : 0)
        // Unretained: this object owns the C watcher, never the other way round.
        watcher.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        stop()
        watcher.deinitialize(count: 1)
        watcher.deallocate()
    }

    /// Starts the timer: it fires `interval` from now. Harmless when already started (the
    /// running countdown is kept).
    public func start() {
        // libev measures from its cached loop time; refresh it so the interval counts from now.
        loop.updateTime()
        ev_timer_start(loop.pointer, watcher)
    }

    /// Stops the timer and discards a pending expiry; harmless when already stopped.
    public func stop() {
        ev_timer_stop(loop.pointer, watcher)
    }

    /// Restarts the timer so it fires `after` from now (then every `interval` when
    /// repeating), whether or not it was started.
    public func reschedule(after: TimeSpan) {
        stop()
        mp_ev_timer_set(watcher, after.seconds, repeating ? interval.seconds : 0)
        start()
    }

    /// Whether the timer is started (a one-shot timer stops itself when it fires).
    public var isActive: Bool {
        mp_ev_is_active(watcher) != 0
    }

    fileprivate static func fire(_ data: UnsafeMutableRawPointer?) {
        guard let data else { return }
        let owner = Unmanaged<TimerWatcher>.fromOpaque(data).takeUnretainedValue()
        // The handler may drop the last other reference to this timer; keep it alive.
        withExtendedLifetime(owner) { owner.handler() }
    }
}

/// libev's callback: captures nothing, finds the Swift object through `data`.
private func timerCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_timer>?, _ events: Int32) {
    TimerWatcher.fire(watcher?.pointee.data)
}
