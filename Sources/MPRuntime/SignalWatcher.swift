// Signals as loop events: SIGINT/SIGTERM stop the daemons cleanly and SIGUSR1 logs
// statistics. libev's handler only records the signal; the Swift handler runs later on
// the loop's thread, where it may do anything (log, stop the loop).
import CLibev

/// Calls a handler on the loop's thread when the process receives `signal`. Use the default
/// loop (``EventLoop/makeDefault()``); a signal can be watched by one loop at a time.
/// Stopped when the object goes away, which restores the signal's default action.
public final class SignalWatcher {
    /// Strong, so the loop outlives every watcher registered on it.
    private let loop: EventLoop
    private let watcher: UnsafeMutablePointer<ev_signal>
    private let handler: () -> Void

    /// Prepares a watcher for `signal` (such as `SIGTERM`); it does nothing until ``start()``.
    public init(loop: EventLoop, signal: Int32, handler: @escaping () -> Void) {
        self.loop = loop
        self.handler = handler
        watcher = UnsafeMutablePointer<ev_signal>.allocate(capacity: 1)
        watcher.initialize(to: ev_signal())
        mp_ev_signal_init(watcher, signalCallback, signal)
        // Unretained: this object owns the C watcher, never the other way round.
        watcher.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        stop()
        watcher.deinitialize(count: 1)
        watcher.deallocate()
    }

    /// Starts watching (installs libev's handler for the signal); harmless when started.
    public func start() {
        ev_signal_start(loop.pointer, watcher)
    }

    /// Stops watching; harmless when already stopped.
    public func stop() {
        ev_signal_stop(loop.pointer, watcher)
    }

    /// Whether the watcher is started.
    public var isActive: Bool {
        mp_ev_is_active(watcher) != 0
    }

    fileprivate static func fire(_ data: UnsafeMutableRawPointer?) {
        guard let data else { return }
        let owner = Unmanaged<SignalWatcher>.fromOpaque(data).takeUnretainedValue()
        withExtendedLifetime(owner) { owner.handler() }
    }
}

/// libev's callback: captures nothing, finds the Swift object through `data`.
private func signalCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_signal>?, _ events: Int32) {
    SignalWatcher.fire(watcher?.pointee.data)
}
