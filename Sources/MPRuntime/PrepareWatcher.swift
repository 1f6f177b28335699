// Work left for the end of a loop iteration: libev runs prepare watchers after the
// callbacks of the events it collected and before it waits again, so what several
// callbacks queued (payloads that came on several paths at once) goes out in one call.
import CLibev

/// Calls a handler on the loop's thread once per loop iteration, just before the loop
/// waits for events. Stopped when the object goes away.
public final class PrepareWatcher {
    private let box: WatcherBox<ev_prepare>

    /// Prepares the watcher; it does nothing until ``start()``.
    public init(loop: EventLoop, handler: @escaping () -> Void) {
        box = WatcherBox(
            loop: loop, handler: handler, start: { ev_prepare_start($0, $1) }, stop: { ev_prepare_stop($0, $1) }
        ) { mp_ev_prepare_init($0, prepareCallback) }
    }

    /// Starts the watcher; harmless when already started.
    public func start() { box.start() }

    /// Stops the watcher; harmless when already stopped.
    public func stop() { box.stop() }

    /// Whether the watcher is started.
    public var isActive: Bool { box.isActive }
}

/// libev's callback: captures nothing, finds the Swift object through `data`.
private func prepareCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_prepare>?, _ events: Int32) {
    WatcherBox.fire(watcher)
}
