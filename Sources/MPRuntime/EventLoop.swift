// The daemons' one event loop: a thin wrapper over a libev loop. Sockets, timers and
// signals register watchers on it; `run()` blocks the calling thread and dispatches their
// callbacks on it until `stop()`. One loop, one thread, no locks.
import CLibev
import Glibc
import MPCore

/// A libev event loop. Not thread-safe: create, run and stop it on one thread, and start
/// or stop its watchers only from that thread (in practice, from their callbacks).
public final class EventLoop {
    /// The libev loop (`struct ev_loop *`).
    let pointer: OpaquePointer
    /// Whether `deinit` destroys the loop; the default loop lives as long as the process.
    private let ownsLoop: Bool

    /// Creates a new, private loop (`ev_loop_new`). Several may exist, for example one per
    /// test. Signal watchers belong on the default loop: see ``makeDefault()``.
    /// - Throws: ``SystemError`` when libev cannot create a loop (no epoll/poll backend,
    ///   out of descriptors).
    public init() throws {
        // EVFLAG_AUTO: libev picks the best backend (epoll on Linux).
        guard let pointer = ev_loop_new(UInt32(EVFLAG_AUTO)) else {
            throw SystemError(call: "ev_loop_new", errno: errno)
        }
        self.pointer = pointer
        self.ownsLoop = true
    }

    private init(defaultLoop pointer: OpaquePointer) {
        self.pointer = pointer
        self.ownsLoop = false
    }

    /// The process's default libev loop, the one daemons use: it handles signals
    /// (``SignalWatcher``) and child processes. Every call wraps the same libev loop.
    /// - Throws: ``SystemError`` when libev cannot create the loop.
    public static func makeDefault() throws -> EventLoop {
        guard let pointer = mp_ev_default_loop() else {
            throw SystemError(call: "ev_default_loop", errno: errno)
        }
        return EventLoop(defaultLoop: pointer)
    }

    deinit {
        if ownsLoop {
            ev_loop_destroy(pointer)
        }
    }

    /// Dispatches watcher callbacks on the calling thread until ``stop()`` is called from a
    /// callback, or until no watcher is active (then it returns at once).
    public func run() {
        // Flags 0: block in the backend until events arrive, until stopped.
        _ = ev_run(pointer, 0)
    }

    /// Makes ``run()`` return after the current callback. Call it from a callback: a call
    /// before ``run()`` starts is forgotten, because libev resets the flag when it starts.
    public func stop() {
        ev_break(pointer, Int32(EVBREAK_ALL))
    }

    /// The current time on the monotonic clock (not libev's cached loop time, which stands
    /// still while callbacks run).
    public var now: Timestamp {
        MonotonicClock.now()
    }

    /// Refreshes libev's cached time, so a timer started after a long callback measures its
    /// interval from now rather than from the start of the loop iteration.
    func updateTime() {
        ev_now_update(pointer)
    }
}
