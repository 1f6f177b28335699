// Readiness of a socket: the daemons start one watcher per socket and drain the socket
// (up to a batch) when it fires. The C watcher lives at a fixed heap address owned by the
// Swift object, which travels to the C callback in the watcher's `data` field.
import CLibev

/// Calls a handler on the loop's thread whenever `fd` is readable (level-triggered: it
/// fires again while data remains). Stopped when the object goes away.
public final class IOWatcher {
    /// Strong, so the loop outlives every watcher registered on it.
    private let loop: EventLoop
    private let watcher: UnsafeMutablePointer<ev_io>
    private let onReadable: () -> Void

    /// Prepares a watcher for `fd`; it does nothing until ``start()``.
    public init(loop: EventLoop, fd: Int32, onReadable: @escaping () -> Void) {
        self.loop = loop
        self.onReadable = onReadable
        watcher = UnsafeMutablePointer<ev_io>.allocate(capacity: 1)
        watcher.initialize(to: ev_io())
        mp_ev_io_init(watcher, ioCallback, fd, Int32(EV_READ))
        // Unretained: this object owns the C watcher, never the other way round.
        watcher.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        stop()
        watcher.deinitialize(count: 1)
        watcher.deallocate()
    }

    /// Starts watching; harmless when already started.
    public func start() {
        ev_io_start(loop.pointer, watcher)
    }

    /// Stops watching and discards a pending event; harmless when already stopped.
    public func stop() {
        ev_io_stop(loop.pointer, watcher)
    }

    /// Whether the watcher is started.
    public var isActive: Bool {
        mp_ev_is_active(watcher) != 0
    }

    fileprivate static func fire(_ data: UnsafeMutableRawPointer?) {
        guard let data else { return }
        let owner = Unmanaged<IOWatcher>.fromOpaque(data).takeUnretainedValue()
        // The handler may drop the last other reference to this watcher; keep it alive
        // until the handler returns.
        withExtendedLifetime(owner) { owner.onReadable() }
    }
}

/// libev's callback: captures nothing, finds the Swift object through `data`.
private func ioCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_io>?, _ events: Int32) {
    IOWatcher.fire(watcher?.pointee.data)
}
