// Readiness of a socket: the daemons start one watcher per socket and drain the socket
// (up to a batch) when it fires.
import CLibev

/// Calls a handler on the loop's thread whenever `fd` is readable, or writable (level-triggered:
/// it fires again while the condition holds). Stopped when the object goes away.
public final class IOWatcher {
    private let box: WatcherBox<ev_io>

    /// Prepares a watcher for `fd` readable; it does nothing until ``start()``.
    public convenience init(loop: EventLoop, fd: Int32, onReadable: @escaping () -> Void) {
        self.init(loop: loop, fd: fd, writable: false, onReady: onReadable)
    }

    /// Prepares a watcher for `fd` readable, or writable when `writable` is true (the control
    /// socket's replies that did not fit the socket buffer at once).
    public init(loop: EventLoop, fd: Int32, writable: Bool, onReady: @escaping () -> Void) {
        let events = Int32(writable ? EV_WRITE : EV_READ)
        box = WatcherBox(loop: loop, handler: onReady, start: { ev_io_start($0, $1) }, stop: { ev_io_stop($0, $1) }) {
            mp_ev_io_init($0, ioCallback, fd, events)
        }
    }

    /// Starts watching; harmless when already started.
    public func start() { box.start() }

    /// Stops watching and discards a pending event; harmless when already stopped.
    public func stop() { box.stop() }

    /// Whether the watcher is started.
    public var isActive: Bool { box.isActive }
}

/// libev's callback: captures nothing, finds the Swift object through `data`.
private func ioCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_io>?, _ events: Int32) {
    WatcherBox.fire(watcher)
}
