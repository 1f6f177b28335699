// Signals as loop events: SIGINT/SIGTERM stop the daemons cleanly and SIGUSR1 logs
// statistics. libev's handler only records the signal; the Swift handler runs later on
// the loop's thread, where it may do anything (log, stop the loop).
import CLibev

/// Calls a handler on the loop's thread when the process receives `signal`. Use the default
/// loop (``EventLoop/makeDefault()``); a signal can be watched by one loop at a time.
/// Stopped when the object goes away, which restores the signal's default action.
public final class SignalWatcher {
    private let box: WatcherBox<ev_signal>

    /// Prepares a watcher for `signal` (such as `SIGTERM`); it does nothing until ``start()``.
    public init(loop: EventLoop, signal: Int32, handler: @escaping () -> Void) {
        box = WatcherBox(
            loop: loop, handler: handler, start: { ev_signal_start($0, $1) }, stop: { ev_signal_stop($0, $1) }
        ) { mp_ev_signal_init($0, signalCallback, signal) }
    }

    /// Starts watching (installs libev's handler for the signal); harmless when started.
    public func start() { box.start() }

    /// Stops watching; harmless when already stopped.
    public func stop() { box.stop() }

    /// Whether the watcher is started.
    public var isActive: Bool { box.isActive }
}

/// libev's callback: captures nothing, finds the Swift object through `data`.
private func signalCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_signal>?, _ events: Int32) {
    WatcherBox.fire(watcher)
}
