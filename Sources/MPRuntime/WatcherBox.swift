// What every libev watcher wrapper shares: the C watcher lives at a fixed heap address
// owned by a Swift object, which the C callback finds through the watcher's `data` field
// (every libev watcher begins with the fields of `ev_watcher`). IOWatcher, TimerWatcher and
// SignalWatcher each add only their kind's init and start/stop functions.
import CLibev

/// A heap-allocated libev watcher of type `CWatcher` and the handler it runs.
final class WatcherBox<CWatcher> {
    typealias Operation = (OpaquePointer, UnsafeMutablePointer<CWatcher>) -> Void

    /// Strong, so the loop outlives every watcher registered on it.
    let loop: EventLoop
    let watcher: UnsafeMutablePointer<CWatcher>
    private let handler: () -> Void
    private let startOperation: Operation
    private let stopOperation: Operation

    /// Allocates a zeroed watcher, lets `initialize` set it up (the kind's `ev_*_init`), and
    /// points its `data` at this box.
    init(
        loop: EventLoop, handler: @escaping () -> Void, start: @escaping Operation, stop: @escaping Operation,
        initialize: (UnsafeMutablePointer<CWatcher>) -> Void
    ) {
        self.loop = loop
        self.handler = handler
        self.startOperation = start
        self.stopOperation = stop
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: MemoryLayout<CWatcher>.size, alignment: MemoryLayout<CWatcher>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<CWatcher>.size)
        watcher = raw.bindMemory(to: CWatcher.self, capacity: 1)
        initialize(watcher)
        // Unretained: this object owns the C watcher, never the other way round.
        Self.common(watcher).pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        stop()
        UnsafeMutableRawPointer(watcher).deallocate()
    }

    func start() {
        startOperation(loop.pointer, watcher)
    }

    func stop() {
        stopOperation(loop.pointer, watcher)
    }

    var isActive: Bool {
        mp_ev_is_active(watcher) != 0
    }

    /// Runs the handler of the box that owns `watcher`; called from the C callbacks.
    static func fire(_ watcher: UnsafeMutablePointer<CWatcher>?) {
        guard let watcher, let data = common(watcher).pointee.data else { return }
        let owner = Unmanaged<WatcherBox>.fromOpaque(data).takeUnretainedValue()
        // The handler may drop the last other reference to this watcher; keep it alive
        // until the handler returns.
        withExtendedLifetime(owner) { owner.handler() }
    }

    private static func common(_ watcher: UnsafeMutablePointer<CWatcher>) -> UnsafeMutablePointer<ev_watcher> {
        UnsafeMutableRawPointer(watcher).assumingMemoryBound(to: ev_watcher.self)
    }
}
